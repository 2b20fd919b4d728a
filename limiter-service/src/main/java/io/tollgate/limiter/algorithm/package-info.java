/**
 * Pure rate-limit arithmetic: fixed window, sliding window, token bucket and calendar quota.
 *
 * <p>Every method takes the current time as {@code long nowNanos} (nanoseconds since the Unix
 * epoch) and never reads a clock. Nothing here imports Hazelcast, gRPC, logging or metrics; the
 * grid runs these classes inside entry processors and the tests run them with hand-set times.
 */
package io.tollgate.limiter.algorithm;
