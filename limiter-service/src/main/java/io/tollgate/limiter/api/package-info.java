/**
 * The gRPC face of the service: Envoy's {@code RateLimitService} and the one mapping from
 * internal failures to gRPC status codes.
 */
package io.tollgate.limiter.api;
