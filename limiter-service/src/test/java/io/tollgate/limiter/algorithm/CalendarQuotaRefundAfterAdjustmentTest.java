package io.tollgate.limiter.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/**
 * A check's quota unit is taken, an operator then resets the quota (UpdateUsage reset or
 * remaining), and only afterwards the check is refunded because another level denied it. The
 * refund must give back the day's usage but leave the count the reset set alone, or the period
 * would admit more than the limit.
 */
class CalendarQuotaRefundAfterAdjustmentTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void aRefundArrivingAfterAResetDoesNotAddToTheReset() {
    CalendarQuota q = new CalendarQuota(3, CalendarPeriod.DAY, 0, ZoneOffset.UTC);
    LimitState s = new LimitState();
    long now = 1_800_000_000L * SECOND;
    // An in-flight check takes one unit (another level will deny it).
    Decision inFlight = q.tryAcquire(s, 1, now);
    assertTrue(inFlight.allowed());
    // The operator resets the quota: the period should now admit exactly 3.
    q.reset(s, now + SECOND);
    // The denied check hands its unit back after the reset.
    q.refund(s, inFlight, now + 2 * SECOND);
    int admitted = 0;
    for (int i = 0; i < 10; i++) {
      if (q.tryAcquire(s, 1, now + 3 * SECOND).allowed()) {
        admitted++;
      }
    }
    assertEquals(3, admitted, "admitted after a reset");
  }

  @Test
  void aRefundArrivingAfterAGrantOfZeroDoesNotReopenTheKey() {
    CalendarQuota q = new CalendarQuota(100, CalendarPeriod.DAY, 0, ZoneOffset.UTC);
    LimitState s = new LimitState();
    long now = 1_800_000_000L * SECOND;
    Decision inFlight = q.tryAcquire(s, 5, now);
    // The operator cuts the key off for the rest of the period: remaining = 0.
    q.setRemaining(s, 0, now + SECOND);
    q.refund(s, inFlight, now + 2 * SECOND);
    assertEquals(0, q.snapshot(s, now + 3 * SECOND).remaining(), "remaining after grant of 0");
    assertEquals(0L, CalendarQuota.usageDays(s).get(now / SECOND / 86_400),
        "the refunded units are no longer usage");
  }
}
