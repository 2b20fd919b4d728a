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
 * @param maxStreamsPerPeer the most streams one remote address may have open on this member;
 *     another is refused with {@code RESOURCE_EXHAUSTED}
 * @param maxBucketsPerStream the most buckets one stream may have tracked (those matching a
 *     limit; unmatched ones are never tracked); a report that would track more ends the stream
 *     with {@code RESOURCE_EXHAUSTED}
 * @param bucketIdleNanos a tracked bucket not reported for this long, and for twice its last
 *     assignment's time to live, is forgotten and its shares released
 */
public record RlqsOptions(boolean unmatchedDenyAll, long minTtlNanos, int headroomPercent,
    int tolerancePercent, int burstPercent, double nearLimitRatio, int maxStreamsPerPeer,
    int maxBucketsPerStream, long bucketIdleNanos) {

  /** The ceiling of an assignment's time to live: one day. */
  public static final long MAX_TTL_NANOS = 86_400_000_000_000L;

  // A proxy opens a few streams (one per filter and worker at most); 64 also covers several
  // proxies behind one address translation, while one client cannot open thousands.
  static final int DEFAULT_MAX_STREAMS_PER_PEER = 64;
  // One report carries at most ReportValidator.MAX_USAGES (1,000) buckets; a tracked bucket
  // costs at most about 70 KB (32 entries of 1 KiB keys and values), so a stream at most ~70 MB
  // in the worst case and a few hundred KB in practice.
  static final int DEFAULT_MAX_BUCKETS_PER_STREAM = 1_000;
  // Envoy reports every bucket each interval (seconds); a minute of silence means it is gone.
  static final long DEFAULT_BUCKET_IDLE_NANOS = 60_000_000_000L;

  /** The defaults with these settings. */
  public static RlqsOptions of(boolean unmatchedDenyAll, long minTtlNanos, double nearLimitRatio) {
    return new RlqsOptions(unmatchedDenyAll, minTtlNanos, 25, 10, 10, nearLimitRatio,
        DEFAULT_MAX_STREAMS_PER_PEER, DEFAULT_MAX_BUCKETS_PER_STREAM, DEFAULT_BUCKET_IDLE_NANOS);
  }

  /** These options with other bounds, for tests and embedding. */
  public RlqsOptions withBounds(int maxStreamsPerPeer, int maxBucketsPerStream,
      long bucketIdleNanos) {
    return new RlqsOptions(unmatchedDenyAll, minTtlNanos, headroomPercent, tolerancePercent,
        burstPercent, nearLimitRatio, maxStreamsPerPeer, maxBucketsPerStream, bucketIdleNanos);
  }
}
