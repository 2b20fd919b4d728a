/**
 * Envoy's rate-limit decision: validates a {@code RateLimitRequest}, matches its descriptors
 * against the current rules, asks the store for every limit at once, and builds the
 * {@code RateLimitResponse}. Shared by the gRPC API and the HTTP {@code /json} endpoint; knows
 * nothing of either transport nor of Hazelcast.
 */
package io.tollgate.limiter.service;
