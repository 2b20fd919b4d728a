/**
 * Reads envoyproxy/ratelimit's YAML (and Tollgate's extensions) into a
 * {@link io.tollgate.limiter.rule.RuleSet}, with errors that name the file, line, field and value,
 * and watches the files to reload them. Depends on {@code rule} and {@code algorithm} only.
 */
package io.tollgate.limiter.config;
