package io.tollgate.limiter.plan;

import io.tollgate.limiter.algorithm.CalendarPeriod;
import java.time.ZoneId;

/**
 * Requests per calendar period, per API key.
 *
 * @param limit requests per period, zero or more
 * @param period the calendar period
 * @param offset days into the period where it starts: WEEK 0 (Sunday) to 6; MONTH 0 (the 1st)
 *     to 27; DAY only 0
 * @param zone periods start at midnight in this zone
 */
public record Quota(long limit, CalendarPeriod period, int offset, ZoneId zone) {}
