/**
 * The service's meters, in envoyproxy/ratelimit's vocabulary, exported as Prometheus text through
 * Micrometer. Rule meters are labelled with the rule's config key, never with request values
 * unless the rule asks for {@code detailed_metric}.
 */
package io.tollgate.limiter.metrics;
