package io.tollgate.limiter.algorithm;

/**
 * A calendar quota as it stands at one moment: what the current period allows, what it has used,
 * and when it started and ends.
 *
 * @param limit units per period
 * @param used units counted in the current period; negative after a grant that set more
 *     remaining than the limit (see {@link CalendarQuota#setRemaining})
 * @param periodStart the current period's first second, in epoch seconds
 * @param periodEnd the next period's first second, in epoch seconds (exclusive)
 */
public record QuotaSnapshot(long limit, long used, long periodStart, long periodEnd) {

  /** Units still available in the period: {@code max(0, limit - used)}, saturating. */
  public long remaining() {
    return Math.max(0, CalendarQuota.saturatedSubtract(limit, used));
  }
}
