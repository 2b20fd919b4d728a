/**
 * The messages of each decision protocol, mapped to and from the decision core
 * ({@code decide}): Envoy's {@code RateLimitRequest} and {@code RateLimitResponse}
 * ({@link io.tollgate.limiter.protocol.RateLimitService}, validated by
 * {@link io.tollgate.limiter.protocol.RequestValidator}) and Tollgate's plan
 * {@code CheckRequest} and {@code CheckResponse} ({@link io.tollgate.limiter.protocol.PlanCheck}).
 * Each class picks the limits a request names, hands them to {@code decide}, and builds the
 * protocol's answer from the outcome; the evaluation itself (acquire all, refund on deny, meters)
 * is not here. Shared by both transports: the gRPC services ({@code api}) and the HTTP endpoints
 * ({@code /check}, {@code /json}, {@code /v1/check}); knows nothing of either, nor of Hazelcast.
 */
package io.tollgate.limiter.protocol;
