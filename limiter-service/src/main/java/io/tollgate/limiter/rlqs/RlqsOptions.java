package io.tollgate.limiter.rlqs;

/**
 * Server-wide settings of the Rate Limit Quota Service.
 *
 * @param unmatchedDenyAll what a bucket matching no limit gets when its domain does not say:
 *     deny all ({@code true}) or allow all
 * @param minTtlNanos the least time to live of an assignment; it is otherwise three times the
 *     stream's reporting interval (the report's {@code time_elapsed})
 * @param headroomPercent how far above its demand a proxy's want is set
 * @param tolerancePercent a grant changes only when the new one differs by at least this share
 * @param burstPercent the size of a proxy's token bucket as a share of its grant
 * @param nearLimitRatio share of a limit above which allowed units count as near the limit
 */
public record RlqsOptions(boolean unmatchedDenyAll, long minTtlNanos, int headroomPercent,
    int tolerancePercent, int burstPercent, double nearLimitRatio) {

  /** The ceiling of an assignment's time to live: one day. */
  public static final long MAX_TTL_NANOS = 86_400_000_000_000L;

  /** The defaults with these settings. */
  public static RlqsOptions of(boolean unmatchedDenyAll, long minTtlNanos, double nearLimitRatio) {
    return new RlqsOptions(unmatchedDenyAll, minTtlNanos, 25, 10, 10, nearLimitRatio);
  }
}
