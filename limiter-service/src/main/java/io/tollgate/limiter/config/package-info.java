/**
 * Reads envoyproxy/ratelimit's YAML (and Tollgate's extensions) into a
 * {@link io.tollgate.limiter.rule.RuleSet}, with errors that name the file, line, field and value,
 * reads the plans file into a {@link io.tollgate.limiter.plan.PlanConfig}, and watches the files to
 * reload them. Depends on {@code rule}, {@code plan} and {@code algorithm} only.
 */
package io.tollgate.limiter.config;
