package io.tollgate.limiter.algorithm;

/**
 * The outcome of one {@link LimitAlgorithm#tryAcquire} call.
 *
 * <p>A denied decision consumed nothing. An allowed one consumed {@code permits} units and
 * carries a {@code receipt} that {@link LimitAlgorithm#refund} uses to give them back.
 *
 * @param allowed whether the permits were granted
 * @param permits the units asked for
 * @param limit the limit that was applied (requests per unit, or the bucket's burst)
 * @param remaining units still available after this decision, never negative
 * @param resetAfterNanos for an allowed decision, when the limit next grows: the window's end
 *     (fixed window), when the oldest units still counted stop counting (sliding window), when
 *     the bucket is full again (token bucket); for a denied one, when the same request could
 *     first pass
 * @param receipt algorithm-specific proof of where the permits were counted
 */
public record Decision(
    boolean allowed, long permits, long limit, long remaining, long resetAfterNanos, long receipt) {

  /** Units in use after this decision ({@code limit - remaining}). */
  public long used() {
    return limit - remaining;
  }
}
