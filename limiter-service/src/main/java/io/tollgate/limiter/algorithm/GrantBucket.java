package io.tollgate.limiter.algorithm;

/**
 * The token bucket a proxy enforces for a grant of {@code g} units per window of {@code W}
 * nanoseconds, in the terms of Envoy's {@code envoy.type.v3.TokenBucket}: it holds at most
 * {@code maxTokens}, starts full, and gains {@code tokensPerFill} every {@code fillIntervalNanos},
 * continuously.
 *
 * <p>The bucket holds {@code m = max(1, g * burstPercent / 100)} (at most {@code g - 1} when
 * {@code g >= 2}) and refills {@code g - m} per window, so over any span of one window it admits at
 * most {@code m + (g - m) = g}: no window edge, so no double burst at one. A grant of 1 refills one
 * token per two windows (and a nanosecond), which admits at most one per window. A proxy given a new bucket starts it
 * full, so each change of assignment can add at most {@code maxTokens} in the window where it
 * happens.
 *
 * <h2>Envoy's comparison</h2>
 * Envoy (before its fix) decides whether a new assignment's token bucket differs from the cached
 * one by {@code max_tokens}, {@code tokens_per_fill} and {@code fill_interval.nanos} only, ignoring
 * {@code fill_interval.seconds}; an "equal" bucket is not applied. Every grant of 2 or more has the
 * fill interval {@code W}; a grant of 1 is one token per {@code 2W + 1 ns} (Envoy rounds the fill
 * interval down to whole seconds, so it enforces one per {@code 2W}), whose nanos differ from
 * {@code W}'s, so a change between 1 and 2 (both size 1, refill 1) is seen. The obvious
 * {@code (1, 2, 4W)} would collide with a grant of 3 ({@code (1, 2, W)} at burst below 67%).
 * {@link #distinct} resolves what remains (e.g. {@link #tightest} results of limits with other
 * windows).
 *
 * @param maxTokens the bucket's size, at least 1
 * @param tokensPerFill tokens added per fill interval, at least 1
 * @param fillIntervalNanos the fill interval
 */
public record GrantBucket(long maxTokens, long tokensPerFill, long fillIntervalNanos) {

  /**
   * The bucket for a grant, or {@code null} for a grant of zero (deny all).
   *
   * @param grant units per window, zero or more
   * @param windowNanos the window
   * @param burstPercent the bucket's size as a share of the grant
   */
  public static GrantBucket forGrant(long grant, long windowNanos, int burstPercent) {
    if (grant < 0 || windowNanos <= 0 || burstPercent < 0 || burstPercent > 100) {
      throw new IllegalArgumentException("grant " + grant + ", window " + windowNanos
          + ", burst " + burstPercent + "%");
    }
    if (grant == 0) {
      return null;
    }
    if (grant == 1) {
      return new GrantBucket(1, 1, 2 * windowNanos + oneTick(2 * windowNanos, windowNanos));
    }
    long m = Math.max(1, grant * burstPercent / 100);
    m = Math.min(m, grant - 1);
    return new GrantBucket(m, grant - m, windowNanos);
  }

  /**
   * One bucket that admits no more than either of two over any span: the smaller size and the
   * slower refill. Over a span T it admits at most {@code min(m1, m2) + min(r1, r2) * T}, which is
   * within each bucket's own bound, so a proxy holding it keeps within both grants.
   */
  public static GrantBucket tightest(GrantBucket a, GrantBucket b) {
    long size = Math.min(a.maxTokens, b.maxTokens);
    // Compare refill rates tokensPerFill / fillInterval without division.
    boolean aSlower = Math.multiplyHigh(a.tokensPerFill, b.fillIntervalNanos) == 0
        && Math.multiplyHigh(b.tokensPerFill, a.fillIntervalNanos) == 0
        ? a.tokensPerFill * b.fillIntervalNanos <= b.tokensPerFill * a.fillIntervalNanos
        : (double) a.tokensPerFill / a.fillIntervalNanos
            <= (double) b.tokensPerFill / b.fillIntervalNanos;
    GrantBucket slower = aSlower ? a : b;
    return new GrantBucket(size, slower.tokensPerFill, slower.fillIntervalNanos);
  }

  /**
   * Whether Envoy would take the two buckets for the same (and keep the cached one): equal size,
   * refill and fill interval nanos, whatever the fill interval seconds.
   */
  public static boolean sameForEnvoy(GrantBucket a, GrantBucket b) {
    return a.maxTokens == b.maxTokens && a.tokensPerFill == b.tokensPerFill
        && a.fillIntervalNanos % 1_000_000_000L == b.fillIntervalNanos % 1_000_000_000L;
  }

  /**
   * {@code next}, or when Envoy would mistake it for the different {@code cached}, {@code next}
   * with a fill interval 1 or 2 ns longer (a slower refill: it still keeps within the grant), whose
   * nanos differ from {@code cached}'s.
   */
  public static GrantBucket distinct(GrantBucket next, GrantBucket cached) {
    if (cached == null || next.equals(cached) || !sameForEnvoy(next, cached)) {
      return next;
    }
    return new GrantBucket(next.maxTokens, next.tokensPerFill,
        next.fillIntervalNanos + oneTick(next.fillIntervalNanos, cached.fillIntervalNanos));
  }

  /** 1, or 2 when adding 1 ns to {@code interval} would give {@code other}'s nanos. */
  private static long oneTick(long interval, long other) {
    return (interval + 1) % 1_000_000_000L == other % 1_000_000_000L ? 2 : 1;
  }

  /** The most this bucket admits over any span of {@code spanNanos}, starting full. */
  public long maxAdmitted(long spanNanos) {
    double refill = (double) tokensPerFill * spanNanos / fillIntervalNanos;
    return (long) Math.floor(maxTokens + refill + 1e-9);
  }
}
