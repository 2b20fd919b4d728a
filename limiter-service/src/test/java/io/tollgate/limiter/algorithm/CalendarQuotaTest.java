package io.tollgate.limiter.algorithm;

import static io.tollgate.limiter.algorithm.Clocks.DAY;
import static io.tollgate.limiter.algorithm.Clocks.SECOND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CalendarQuotaTest {

  private static final ZoneId UTC = ZoneOffset.UTC;
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
  private static final long HOUR = 3_600 * SECOND;
  private static final String ORIGINS = "io.tollgate.limiter.algorithm.Clocks#origins";

  /** An instant such as {@code 2026-11-27T12:00:00.25Z} in epoch nanos. */
  private static long at(String instant) {
    Instant i = Instant.parse(instant);
    return i.getEpochSecond() * SECOND + i.getNano();
  }

  /** An instant in epoch seconds. */
  private static long sec(String instant) {
    return Instant.parse(instant).getEpochSecond();
  }

  private static long epochDay(String date) {
    return LocalDate.parse(date).toEpochDay();
  }

  private static SortedMap<Long, Long> days(long... dayAndRequests) {
    SortedMap<Long, Long> m = new TreeMap<>();
    for (int i = 0; i < dayAndRequests.length; i += 2) {
      m.put(dayAndRequests[i], dayAndRequests[i + 1]);
    }
    return m;
  }

  @Test
  void admitsExactlyTheLimitThenDeniesUntilThePeriodEnds() {
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    long now = at("2026-11-27T12:00:00.250Z");
    long untilMidnight = 12 * HOUR - 250_000_000L;
    for (int i = 1; i <= 5; i++) {
      Decision d = q.tryAcquire(state, 1, now);
      assertEquals(new Decision(true, 1, 5, 5 - i, untilMidnight, sec("2026-11-27T12:00:00Z")), d);
    }
    LimitState before = state.copy();
    Decision denied = q.tryAcquire(state, 1, now + SECOND);
    assertEquals(new Decision(false, 1, 5, 0, untilMidnight - SECOND,
        sec("2026-11-27T12:00:01Z")), denied);
    assertEquals(before, state, "a denial changes nothing");
    assertEquals(5, q.used(state, now));
    assertEquals(sec("2026-11-27T00:00:00Z"), state.mark());
    assertEquals(days(epochDay("2026-11-27"), 5), CalendarQuota.usageDays(state));
    // The next period starts from zero.
    Decision next = q.tryAcquire(state, 5, at("2026-11-28T00:00:00Z"));
    assertTrue(next.allowed());
    assertEquals(0, next.remaining());
    assertEquals(DAY, next.resetAfterNanos());
  }

  @Test
  void aTakeLargerThanWhatIsLeftIsDeniedWhole() {
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    long now = at("2026-11-27T12:00:00Z");
    assertTrue(q.tryAcquire(state, 3, now).allowed());
    Decision d = q.tryAcquire(state, 3, now);
    assertFalse(d.allowed());
    assertEquals(2, d.remaining());
    assertTrue(q.tryAcquire(state, 2, now).allowed());
    Decision over = q.tryAcquire(new LimitState(), 6, now);
    assertFalse(over.allowed(), "more than the limit never fits");
    assertEquals(5, over.remaining());
  }

  @Test
  void zeroPermitsOnlyReports() {
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    long now = at("2026-11-27T12:00:00Z");
    Decision fresh = q.tryAcquire(state, 0, now);
    assertTrue(fresh.allowed());
    assertEquals(5, fresh.remaining());
    assertEquals(new LimitState(), state);
    q.tryAcquire(state, 5, now);
    LimitState before = state.copy();
    Decision full = q.tryAcquire(state, 0, now);
    assertTrue(full.allowed());
    assertEquals(0, full.remaining());
    assertEquals(12 * HOUR, full.resetAfterNanos());
    assertEquals(before, state);
  }

  @Test
  void rollsOverAtMidnightInItsZone() {
    // In November Berlin is UTC+1: its midnight is 23:00 UTC.
    CalendarQuota berlin = new CalendarQuota(1, CalendarPeriod.DAY, 0, BERLIN);
    CalendarQuota utc = new CalendarQuota(1, CalendarPeriod.DAY, 0, UTC);
    LimitState b = new LimitState();
    LimitState u = new LimitState();
    long beforeBerlinMidnight = at("2026-11-27T22:59:59.999999999Z");
    assertTrue(berlin.tryAcquire(b, 1, at("2026-11-27T12:00:00Z")).allowed());
    assertTrue(utc.tryAcquire(u, 1, at("2026-11-27T12:00:00Z")).allowed());

    Decision bDenied = berlin.tryAcquire(b, 1, beforeBerlinMidnight);
    assertFalse(bDenied.allowed());
    assertEquals(1, bDenied.resetAfterNanos());
    assertTrue(berlin.tryAcquire(b, 1, at("2026-11-27T23:00:00Z")).allowed());
    assertEquals(sec("2026-11-27T23:00:00Z"), berlin.periodStart(at("2026-11-27T23:00:00Z")));
    assertEquals(sec("2026-11-28T23:00:00Z"), berlin.periodEnd(at("2026-11-27T23:00:00Z")));

    Decision uDenied = utc.tryAcquire(u, 1, at("2026-11-27T23:00:00Z"));
    assertFalse(uDenied.allowed());
    assertEquals(HOUR, uDenied.resetAfterNanos());
    assertTrue(utc.tryAcquire(u, 1, at("2026-11-28T00:00:00Z")).allowed());
  }

  @Test
  void aDayIs23HoursWhenDaylightSavingTimeStarts() {
    CalendarQuota q = new CalendarQuota(2, CalendarPeriod.DAY, 0, BERLIN);
    // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
    long noon = at("2026-03-29T10:00:00Z");
    assertEquals(sec("2026-03-28T23:00:00Z"), q.periodStart(noon));
    assertEquals(sec("2026-03-29T22:00:00Z"), q.periodEnd(noon));
    assertEquals(23 * 3_600, q.periodEnd(noon) - q.periodStart(noon));
    LimitState state = new LimitState();
    assertTrue(q.tryAcquire(state, 2, at("2026-03-28T23:00:00Z")).allowed());
    Decision denied = q.tryAcquire(state, 1, at("2026-03-29T21:59:59Z"));
    assertFalse(denied.allowed());
    assertEquals(SECOND, denied.resetAfterNanos());
    assertTrue(q.tryAcquire(state, 1, at("2026-03-29T22:00:00Z")).allowed());
    // The day before is 24 hours.
    assertEquals(sec("2026-03-27T23:00:00Z"), q.periodStart(at("2026-03-28T12:00:00Z")));
  }

  @Test
  void aDayIs25HoursWhenDaylightSavingTimeEnds() {
    CalendarQuota q = new CalendarQuota(2, CalendarPeriod.DAY, 0, BERLIN);
    // 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET.
    long noon = at("2026-10-25T11:00:00Z");
    assertEquals(sec("2026-10-24T22:00:00Z"), q.periodStart(noon));
    assertEquals(sec("2026-10-25T23:00:00Z"), q.periodEnd(noon));
    LimitState state = new LimitState();
    Decision first = q.tryAcquire(state, 2, at("2026-10-24T22:00:00Z"));
    assertEquals(25 * HOUR, first.resetAfterNanos());
    // Both 02:30s of the repeated hour are in the same day.
    assertFalse(q.tryAcquire(state, 1, at("2026-10-25T00:30:00Z")).allowed());
    assertFalse(q.tryAcquire(state, 1, at("2026-10-25T01:30:00Z")).allowed());
    assertFalse(q.tryAcquire(state, 1, at("2026-10-25T22:59:59Z")).allowed());
    assertTrue(q.tryAcquire(state, 1, at("2026-10-25T23:00:00Z")).allowed());
  }

  @Test
  void aWeekStartsOnTheOffsetWeekday() {
    // 2026-11-27 is a Friday.
    long friday = at("2026-11-27T12:00:00Z");
    CalendarQuota sunday = new CalendarQuota(10, CalendarPeriod.WEEK, 0, UTC);
    CalendarQuota monday = new CalendarQuota(10, CalendarPeriod.WEEK, 1, UTC);
    assertEquals(sec("2026-11-22T00:00:00Z"), sunday.periodStart(friday));
    assertEquals(sec("2026-11-29T00:00:00Z"), sunday.periodEnd(friday));
    assertEquals(sec("2026-11-23T00:00:00Z"), monday.periodStart(friday));
    assertEquals(sec("2026-11-30T00:00:00Z"), monday.periodEnd(friday));

    long sundayNoon = at("2026-11-29T12:00:00Z");
    assertEquals(sec("2026-11-29T00:00:00Z"), sunday.periodStart(sundayNoon));
    assertEquals(sec("2026-11-23T00:00:00Z"), monday.periodStart(sundayNoon));
    assertEquals(sec("2026-11-30T00:00:00Z"), monday.periodStart(at("2026-11-30T00:00:00Z")));
    assertEquals(sec("2026-11-23T00:00:00Z"),
        monday.periodStart(at("2026-11-29T23:59:59.999999999Z")));

    LimitState state = new LimitState();
    assertTrue(monday.tryAcquire(state, 10, friday).allowed());
    Decision denied = monday.tryAcquire(state, 1, sundayNoon);
    assertFalse(denied.allowed());
    assertEquals(12 * HOUR, denied.resetAfterNanos());
    assertTrue(monday.tryAcquire(state, 1, at("2026-11-30T00:00:00Z")).allowed());
    assertEquals(7 * DAY, monday.windowNanos());
  }

  @Test
  void aWeekInAZoneStartsAtLocalMidnight() {
    CalendarQuota monday = new CalendarQuota(10, CalendarPeriod.WEEK, 1, BERLIN);
    assertEquals(sec("2026-11-22T23:00:00Z"), monday.periodStart(at("2026-11-27T12:00:00Z")));
    // The week holding the end of DST is 7 days and an hour.
    long w = at("2026-10-22T12:00:00Z");
    assertEquals(sec("2026-10-18T22:00:00Z"), monday.periodStart(w));
    assertEquals(sec("2026-10-25T23:00:00Z"), monday.periodEnd(w));
  }

  @Test
  void aMonthFollowsTheCalendarThroughFebruary() {
    CalendarQuota q = new CalendarQuota(100, CalendarPeriod.MONTH, 0, UTC);
    long leap = at("2028-02-15T12:00:00Z");
    assertEquals(sec("2028-02-01T00:00:00Z"), q.periodStart(leap));
    assertEquals(sec("2028-03-01T00:00:00Z"), q.periodEnd(leap));
    assertEquals(29 * 86_400, q.periodEnd(leap) - q.periodStart(leap));
    long normal = at("2027-02-15T12:00:00Z");
    assertEquals(sec("2027-02-01T00:00:00Z"), q.periodStart(normal));
    assertEquals(sec("2027-03-01T00:00:00Z"), q.periodEnd(normal));
    assertEquals(28 * 86_400, q.periodEnd(normal) - q.periodStart(normal));
    // Feb 29 of the leap year is still February.
    assertEquals(sec("2028-02-01T00:00:00Z"), q.periodStart(at("2028-02-29T23:59:59Z")));

    LimitState state = new LimitState();
    assertTrue(q.tryAcquire(state, 100, at("2028-02-01T00:00:00Z")).allowed());
    Decision denied = q.tryAcquire(state, 1, at("2028-02-29T12:00:00Z"));
    assertFalse(denied.allowed());
    assertEquals(12 * HOUR, denied.resetAfterNanos());
    assertTrue(q.tryAcquire(state, 1, at("2028-03-01T00:00:00Z")).allowed());
  }

  @Test
  void aMonthWithOffset27StartsOnThe28th() {
    CalendarQuota q = new CalendarQuota(100, CalendarPeriod.MONTH, 27, UTC);
    long early = at("2028-02-10T12:00:00Z");
    assertEquals(sec("2028-01-28T00:00:00Z"), q.periodStart(early));
    assertEquals(sec("2028-02-28T00:00:00Z"), q.periodEnd(early));
    long leap = at("2028-02-29T12:00:00Z");
    assertEquals(sec("2028-02-28T00:00:00Z"), q.periodStart(leap));
    assertEquals(sec("2028-03-28T00:00:00Z"), q.periodEnd(leap));
    long normal = at("2027-02-28T00:00:00Z");
    assertEquals(sec("2027-02-28T00:00:00Z"), q.periodStart(normal));
    assertEquals(sec("2027-03-28T00:00:00Z"), q.periodEnd(normal));
    // Year end.
    assertEquals(sec("2026-12-28T00:00:00Z"), q.periodStart(at("2027-01-01T00:00:00Z")));
  }

  @Test
  void aMonthInAZoneSpansDaylightSavingTime() {
    CalendarQuota q = new CalendarQuota(100, CalendarPeriod.MONTH, 0, BERLIN);
    long march = at("2026-03-15T12:00:00Z");
    assertEquals(sec("2026-02-28T23:00:00Z"), q.periodStart(march));
    assertEquals(sec("2026-03-31T22:00:00Z"), q.periodEnd(march));
  }

  @Test
  void refundGivesBackToTheCountAndTheDay() {
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    long now = at("2026-11-27T12:00:00Z");
    Decision d = q.tryAcquire(state, 5, now);
    assertTrue(q.refund(state, d, now + SECOND));
    assertEquals(0, q.used(state, now));
    assertEquals(days(epochDay("2026-11-27"), 0), CalendarQuota.usageDays(state));
    assertTrue(q.tryAcquire(state, 5, now).allowed());
    assertEquals(0, q.tryAcquire(state, 0, now).remaining());
    Decision denied = q.tryAcquire(state, 1, now);
    assertFalse(q.refund(state, denied, now), "a denial has nothing to give back");
    assertFalse(q.refund(state, q.tryAcquire(state, 0, now), now), "nor a report");
  }

  @Test
  void refundAcrossAPeriodBoundaryGivesBackOnlyToTheDay() {
    // Berlin's day ends at 23:00 UTC; the UTC day goes on.
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, BERLIN);
    LimitState state = new LimitState();
    Decision d = q.tryAcquire(state, 3, at("2026-11-27T22:59:59Z"));
    assertTrue(q.tryAcquire(state, 2, at("2026-11-27T23:00:01Z")).allowed());
    assertTrue(q.refund(state, d, at("2026-11-27T23:00:02Z")));
    assertEquals(2, q.used(state, at("2026-11-27T23:00:02Z")), "the old period's units are gone");
    assertEquals(days(epochDay("2026-11-27"), 2), CalendarQuota.usageDays(state));
  }

  @Test
  void refundAcrossADayBoundaryGivesBackToTheReceiptsDay() {
    // Berlin's day runs 23:00 to 23:00 UTC, so the UTC day changes inside it.
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, BERLIN);
    LimitState state = new LimitState();
    Decision d = q.tryAcquire(state, 3, at("2026-11-27T23:30:00Z"));
    assertTrue(q.tryAcquire(state, 1, at("2026-11-28T00:30:00Z")).allowed());
    assertTrue(q.refund(state, d, at("2026-11-28T00:30:01Z")));
    assertEquals(1, q.used(state, at("2026-11-28T00:30:01Z")));
    assertEquals(days(epochDay("2026-11-27"), 0, epochDay("2026-11-28"), 1),
        CalendarQuota.usageDays(state));
  }

  @Test
  void refundNeverTakesADayBelowZeroAndSkipsDroppedDays() {
    CalendarQuota q = new CalendarQuota(1_000, CalendarPeriod.MONTH, 0, UTC);
    LimitState state = new LimitState();
    Decision first = q.tryAcquire(state, 2, at("2026-11-01T12:00:00Z"));
    // A reset in between: the day still says 2, the count 0.
    q.reset(state, at("2026-11-01T12:00:01Z"));
    Decision big = new Decision(true, 5, 1_000, 995, 0, first.receipt());
    assertTrue(q.refund(state, big, at("2026-11-01T12:00:02Z")));
    assertEquals(days(epochDay("2026-11-01"), 0), CalendarQuota.usageDays(state));
    // Usage on seven later days drops November 1st.
    for (int day = 2; day <= 8; day++) {
      assertTrue(q.tryAcquire(state, 1, at("2026-11-0" + day + "T12:00:00Z")).allowed());
    }
    assertFalse(CalendarQuota.usageDays(state).containsKey(epochDay("2026-11-01")));
    LimitState before = state.copy();
    Decision old = new Decision(true, 1, 1_000, 0, 0, first.receipt());
    assertFalse(q.refund(state, old, at("2026-11-09T00:00:00Z")),
        "units taken before the reset are not handed back to the count the reset set");
    assertEquals(CalendarQuota.usageDays(before), CalendarQuota.usageDays(state));
  }

  @Test
  void theDayRingKeepsTheSevenNewestDays() {
    CalendarQuota q = new CalendarQuota(Long.MAX_VALUE, CalendarPeriod.WEEK, 0, UTC);
    LimitState state = new LimitState();
    long start = at("2026-11-01T12:00:00Z");
    for (int k = 0; k < 9; k++) {
      assertTrue(q.tryAcquire(state, k + 1, start + k * DAY).allowed());
    }
    SortedMap<Long, Long> expected = new TreeMap<>();
    long first = epochDay("2026-11-01");
    for (int k = 2; k < 9; k++) {
      expected.put(first + k, (long) k + 1);
    }
    assertEquals(expected, CalendarQuota.usageDays(state));
    assertEquals(2 * CalendarQuota.DAYS + 1, state.slots().length);
    // A day older than every day kept (a clock far behind) is not recorded.
    assertTrue(q.tryAcquire(state, 1, start).allowed());
    assertEquals(expected, CalendarQuota.usageDays(state));
  }

  @Test
  void unusedPairsAreMarkedAndUsedInOrder() {
    CalendarQuota q = new CalendarQuota(10, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    q.tryAcquire(state, 2, at("2026-11-27T12:00:00Z"));
    long[] slots = state.slots();
    assertEquals(epochDay("2026-11-27"), slots[0]);
    assertEquals(2, slots[1]);
    for (int i = 2; i < 2 * CalendarQuota.DAYS; i += 2) {
      assertEquals(CalendarQuota.NO_DAY, slots[i]);
      assertEquals(0, slots[i + 1]);
    }
  }

  @Test
  void aGrantAboveTheLimitLetsMoreThrough() {
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    long now = at("2026-11-27T12:00:00Z");
    q.tryAcquire(state, 5, now);
    SortedMap<Long, Long> daysBefore = CalendarQuota.usageDays(state);
    q.setRemaining(state, 10, now);
    assertEquals(-5, q.used(state, now));
    assertEquals(new QuotaSnapshot(5, -5, sec("2026-11-27T00:00:00Z"),
        sec("2026-11-28T00:00:00Z")), q.snapshot(state, now));
    assertEquals(10, q.snapshot(state, now).remaining());
    assertEquals(daysBefore, CalendarQuota.usageDays(state), "a grant leaves the days");
    Decision d = q.tryAcquire(state, 1, now);
    assertEquals(9, d.remaining());
    assertEquals(-4, d.used());
    assertTrue(q.tryAcquire(state, 9, now).allowed());
    assertFalse(q.tryAcquire(state, 1, now).allowed());
    // The grant lasts for the current period only.
    assertEquals(5, q.tryAcquire(state, 0, at("2026-11-28T00:00:00Z")).remaining());
  }

  @Test
  void aGrantOfZeroDeniesAndAResetRestoresTheLimit() {
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    long now = at("2026-11-27T12:00:00Z");
    q.setRemaining(state, 0, now);
    assertEquals(5, q.used(state, now));
    assertFalse(q.tryAcquire(state, 1, now).allowed());
    assertTrue(CalendarQuota.usageDays(state).isEmpty(), "no usage recorded by a grant");
    q.reset(state, now);
    assertEquals(0, q.used(state, now));
    assertTrue(q.tryAcquire(state, 5, now).allowed());
    q.reset(state, now);
    assertEquals(5, q.tryAcquire(state, 0, now).remaining());
    assertEquals(days(epochDay("2026-11-27"), 5), CalendarQuota.usageDays(state));
    assertThrows(IllegalArgumentException.class, () -> q.setRemaining(state, -1, now));
  }

  @Test
  void aRefundAfterAGrantKeepsTheNegativeCount() {
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    long now = at("2026-11-27T12:00:00Z");
    q.setRemaining(state, 10, now);
    long later = now + 1_000_000_000L;
    Decision d = q.tryAcquire(state, 3, later);
    assertEquals(-2, q.used(state, later));
    assertTrue(q.refund(state, d, later));
    assertEquals(-5, q.used(state, later));
    assertEquals(10, q.snapshot(state, later).remaining());
  }

  @Test
  void unlimitedNeverDeniesAndNeverOverflows() {
    CalendarQuota q = CalendarQuota.unlimited();
    assertEquals(Long.MAX_VALUE, q.limit());
    assertEquals(CalendarPeriod.DAY, q.period());
    assertEquals(0, q.offset());
    assertEquals(ZoneOffset.UTC, q.zone());
    LimitState state = new LimitState();
    long now = at("2026-11-27T12:00:00Z");
    Decision first = q.tryAcquire(state, 1, now);
    assertTrue(first.allowed());
    assertEquals(Long.MAX_VALUE - 1, first.remaining());
    for (int i = 0; i < 3; i++) {
      Decision d = q.tryAcquire(state, Long.MAX_VALUE, now);
      assertTrue(d.allowed());
      assertEquals(0, d.remaining());
    }
    assertEquals(Long.MAX_VALUE, q.used(state, now));
    assertEquals(Long.MAX_VALUE, CalendarQuota.usageDays(state).get(epochDay("2026-11-27")));
    assertTrue(q.tryAcquire(state, 1, now).allowed());
    assertEquals(0, q.snapshot(state, now).remaining());
    q.setRemaining(state, Long.MAX_VALUE, now);
    assertEquals(0, q.used(state, now));
    assertTrue(q.tryAcquire(state, Long.MAX_VALUE, now).allowed());
    assertTrue(q.refund(state, first, now));
  }

  @Test
  void snapshotsSaturate() {
    assertEquals(Long.MAX_VALUE, new QuotaSnapshot(Long.MAX_VALUE, -5, 0, 1).remaining());
    assertEquals(0, new QuotaSnapshot(5, Long.MAX_VALUE, 0, 1).remaining());
    assertEquals(0, new QuotaSnapshot(5, 7, 0, 1).remaining());
    assertEquals(Long.MAX_VALUE, new QuotaSnapshot(5, Long.MIN_VALUE, 0, 1).remaining());
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.WEEK, 3, UTC);
    long now = at("2026-11-27T12:00:00Z");
    assertEquals(new QuotaSnapshot(5, 0, sec("2026-11-25T00:00:00Z"),
        sec("2026-12-02T00:00:00Z")), q.snapshot(null, now));
  }

  @Test
  void restoreAndUsageDaysRoundTrip() {
    CalendarQuota q = new CalendarQuota(100, CalendarPeriod.MONTH, 0, UTC);
    long now = at("2026-11-27T12:00:00Z");
    long first = epochDay("2026-11-10");
    SortedMap<Long, Long> all = new TreeMap<>();
    for (int k = 0; k < 9; k++) {
      all.put(first + 2L * k, 10L + k);
    }
    LimitState state = CalendarQuota.restore(q.periodStart(now), 42, all);
    assertEquals(42, q.used(state, now));
    SortedMap<Long, Long> kept = CalendarQuota.usageDays(state);
    assertEquals(all.tailMap(first + 4), kept, "the 7 newest days");
    LimitState again = CalendarQuota.restore(state.mark(), state.count(), kept);
    assertEquals(kept, CalendarQuota.usageDays(again));
    assertEquals(42, q.used(again, now));
    // A restored state works as usual: today is new and drops the oldest kept day.
    assertTrue(q.tryAcquire(again, 8, now).allowed());
    assertEquals(50, q.used(again, now));
    SortedMap<Long, Long> after = CalendarQuota.usageDays(again);
    assertEquals(7, after.size());
    assertEquals(8L, after.get(epochDay("2026-11-27")));
    assertFalse(after.containsKey(first + 4));

    assertEquals(new TreeMap<>(), CalendarQuota.usageDays(null));
    assertEquals(new TreeMap<>(), CalendarQuota.usageDays(new LimitState()));
    LimitState empty = CalendarQuota.restore(LimitState.UNSET, 0, new TreeMap<>());
    assertEquals(new TreeMap<>(), CalendarQuota.usageDays(empty));
    assertEquals(0, q.used(empty, now));
  }

  @Test
  void aStateFromAnotherPeriodCountsAsUnused() {
    CalendarQuota q = new CalendarQuota(5, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    q.tryAcquire(state, 5, at("2026-11-27T12:00:00Z"));
    assertEquals(0, q.used(state, at("2026-11-28T12:00:00Z")));
    assertEquals(0, q.snapshot(state, at("2026-11-28T12:00:00Z")).used());
    // A clock behind, in the period before the stored one, counts that period from zero.
    assertEquals(0, q.used(state, at("2026-11-26T12:00:00Z")));
  }

  @Test
  void keepsTheStateUntilThePeriodEndsOrEightDaysAfterTheLastUse() {
    CalendarQuota month = new CalendarQuota(100, CalendarPeriod.MONTH, 0, UTC);
    long early = at("2026-11-01T12:00:00Z");
    assertEquals(0, month.ttlNanos(new LimitState(), early));
    LimitState state = new LimitState();
    month.tryAcquire(state, 1, early);
    assertEquals(sec("2026-12-01T00:00:00Z") * SECOND - early, month.ttlNanos(state, early));
    long late = at("2026-11-28T12:00:00Z");
    month.tryAcquire(state, 1, late);
    assertEquals(sec("2026-12-07T00:00:00Z") * SECOND - late, month.ttlNanos(state, late),
        "end of the newest day plus 8 days");
    // Once the period is over, the days alone decide.
    long next = at("2026-12-03T00:00:00Z");
    assertEquals(4 * DAY, month.ttlNanos(state, next));
    assertEquals(0, month.ttlNanos(state, at("2026-12-08T00:00:00Z")));
    // A grant without usage is kept to the period's end.
    LimitState granted = new LimitState();
    month.setRemaining(granted, 500, early);
    assertEquals(sec("2026-12-01T00:00:00Z") * SECOND - early, month.ttlNanos(granted, early));
    // A restored day far in the future cannot pin the state for long.
    LimitState future = CalendarQuota.restore(LimitState.UNSET, 0,
        days(Long.MAX_VALUE, 1, Long.MIN_VALUE + 1, 1));
    long ttl = month.ttlNanos(future, early);
    assertTrue(ttl > 0 && ttl <= 64 * DAY, "ttl " + ttl);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource(ORIGINS)
  void worksAtEveryClockOrigin(long origin) {
    for (CalendarQuota q : List.of(
        new CalendarQuota(3, CalendarPeriod.DAY, 0, BERLIN),
        new CalendarQuota(3, CalendarPeriod.WEEK, 6, UTC),
        new CalendarQuota(3, CalendarPeriod.MONTH, 27, ZoneId.of("America/New_York")),
        CalendarQuota.unlimited())) {
      LimitState state = new LimitState();
      long start = q.periodStart(origin);
      long end = q.periodEnd(origin);
      long second = Math.floorDiv(origin, SECOND);
      assertTrue(start <= second && second < end, q + ": " + start + " " + second + " " + end);
      assertTrue(end - start <= 32 * 86_400L);
      Decision d = q.tryAcquire(state, 3, origin);
      assertTrue(d.allowed(), q.toString());
      assertTrue(d.resetAfterNanos() > 0 && d.resetAfterNanos() <= 32 * DAY);
      assertEquals(end * 1.0e9 - origin, (double) d.resetAfterNanos(), 2e6);
      assertEquals(q.limit() == 3, !q.tryAcquire(state, 1, origin).allowed());
      long ttl = q.ttlNanos(state, origin);
      assertTrue(ttl >= d.resetAfterNanos() && ttl <= 64 * DAY, "ttl " + ttl);
      // The grid adds a second to the TTL in millis: far from overflow.
      assertTrue(TimeUnit.NANOSECONDS.toMillis(ttl) + 1_000 > 0);
      assertTrue(q.refund(state, d, origin));
      // The unlimited quota also took the extra unit above.
      assertEquals(q.limit() == 3 ? 0 : 1, q.used(state, origin));
    }
  }

  @Test
  void theCachedPeriodIsRightUnderConcurrentUse() throws Exception {
    CalendarQuota q = new CalendarQuota(1, CalendarPeriod.DAY, 0, BERLIN);
    long[] times = new long[40];
    long[] starts = new long[times.length];
    for (int i = 0; i < times.length; i++) {
      times[i] = at("2026-03-20T12:00:00Z") + i * 7 * HOUR;
      starts[i] = new CalendarQuota(1, CalendarPeriod.DAY, 0, BERLIN).periodStart(times[i]);
    }
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<Boolean>> tasks = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int seed = t;
        tasks.add(() -> {
          for (int n = 0; n < 20_000; n++) {
            int i = (n * 7 + seed * 13) % times.length;
            if (q.periodStart(times[i]) != starts[i]) {
              return false;
            }
          }
          return true;
        });
      }
      for (Future<Boolean> f : pool.invokeAll(tasks)) {
        assertTrue(f.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void rejectsBadArguments() {
    assertMessage("limit", () -> new CalendarQuota(-1, CalendarPeriod.DAY, 0, UTC));
    assertMessage("period", () -> new CalendarQuota(1, null, 0, UTC));
    assertMessage("zone", () -> new CalendarQuota(1, CalendarPeriod.DAY, 0, null));
    assertMessage("offset", () -> new CalendarQuota(1, CalendarPeriod.DAY, 1, UTC));
    assertMessage("offset", () -> new CalendarQuota(1, CalendarPeriod.WEEK, -1, UTC));
    assertMessage("offset", () -> new CalendarQuota(1, CalendarPeriod.WEEK, 7, UTC));
    assertMessage("offset", () -> new CalendarQuota(1, CalendarPeriod.MONTH, 28, UTC));
    CalendarQuota q = new CalendarQuota(1, CalendarPeriod.DAY, 0, UTC);
    assertMessage("permits", () -> q.tryAcquire(new LimitState(), -1, 0));
    assertMessage("remaining", () -> q.setRemaining(new LimitState(), -1, 0));
    assertMessage("days", () -> CalendarQuota.restore(0, 0, null));
    assertMessage("days", () -> CalendarQuota.restore(0, 0, days(1, -1)));
    assertMessage("days", () -> CalendarQuota.restore(0, 0, days(CalendarQuota.NO_DAY, 1)));
    assertThrows(IllegalArgumentException.class, () -> LimitAlgorithm.of(
        LimitAlgorithm.Kind.CALENDAR_QUOTA, 1, DAY, 0));
    // The largest offsets are fine.
    new CalendarQuota(0, CalendarPeriod.WEEK, 6, UTC);
    new CalendarQuota(0, CalendarPeriod.MONTH, 27, UTC);
  }

  @Test
  void aQuotaOfZeroDeniesEverything() {
    CalendarQuota q = new CalendarQuota(0, CalendarPeriod.DAY, 0, UTC);
    LimitState state = new LimitState();
    assertFalse(q.tryAcquire(state, 1, at("2026-11-27T12:00:00Z")).allowed());
    assertTrue(q.tryAcquire(state, 0, at("2026-11-27T12:00:00Z")).allowed());
  }

  @Test
  void equalityIsByParameters() {
    assertEquals(new CalendarQuota(5, CalendarPeriod.WEEK, 2, BERLIN),
        new CalendarQuota(5, CalendarPeriod.WEEK, 2, ZoneId.of("Europe/Berlin")));
    assertEquals(new CalendarQuota(5, CalendarPeriod.WEEK, 2, BERLIN).hashCode(),
        new CalendarQuota(5, CalendarPeriod.WEEK, 2, ZoneId.of("Europe/Berlin")).hashCode());
    assertFalse(new CalendarQuota(5, CalendarPeriod.WEEK, 2, BERLIN)
        .equals(new CalendarQuota(5, CalendarPeriod.WEEK, 3, BERLIN)));
  }

  private static void assertMessage(String word, org.junit.jupiter.api.function.Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(word), e.getMessage());
  }
}
