package io.tollgate.limiter.algorithm;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A quota of {@code limit} units per calendar period (day, week or month) in a time zone, as in
 * AWS API Gateway usage plans, which also keeps each key's usage per UTC day for the last days.
 *
 * <h2>Implementation notes</h2>
 * Periods follow the calendar in {@code zone}: a day runs from one local midnight to the next, so
 * it lasts 23 or 25 hours on the days daylight saving time starts or ends; a week starts at 00:00
 * of the weekday {@code offset} (0 = Sunday … 6 = Saturday); a month at 00:00 of day
 * {@code offset + 1} (the 1st to the 28th, which every month has). A midnight that does not exist
 * in the zone (a DST gap at 00:00) starts the period at the first local time that does. The
 * bounds are computed with {@code java.time}, which is not cheap, so the last period computed is
 * kept as an immutable {@code [start, end)} pair in a volatile field and reused while the time is
 * inside it: the hot path is one volatile read and two comparisons. Threads that race to replace
 * it each write a correct pair, so no lock is needed.
 *
 * <p>Times are taken in nanoseconds since the epoch ({@code nowNanos}) and reduced to epoch
 * seconds with {@code floorDiv}, so every {@code long} is a valid time (1677 to 2262); period
 * bounds, the state's mark and receipts are epoch seconds. Times to the period's end are computed
 * from the difference in seconds (at most about 32 days), so they never overflow.
 *
 * <p>State ({@link LimitState}): {@code mark} is the start of the period {@code count} belongs to;
 * a call in another period counts from zero. {@code count} may be negative after a grant (an
 * operator set more remaining than the limit). {@code slots} holds up to {@value #DAYS} pairs
 * {@code [epochDay, requests]} of UTC days with usage, unused pairs having the day
 * {@link #NO_DAY}; a new day takes a free pair or, when all are used, the pair of the oldest day
 * (a day older than every day kept is not recorded: it would be the one dropped). The last slot
 * holds the epoch second of the last grant or reset: a refund of units taken up to that second
 * gives back usage but not quota, so a refund that arrives after an admin set the count cannot
 * add to what the admin set. Sums saturate
 * at {@code Long.MAX_VALUE}. A quota with limit {@code Long.MAX_VALUE} ({@link #unlimited()})
 * never denies, even once its count has saturated.
 *
 * <p>A denied call changes nothing, and neither does a call for zero permits. As for
 * {@link FixedWindow}, a count belongs to exactly one period: when a member's clock is behind and
 * its time falls in the period before the stored one, that older period counts from zero (and a
 * take there replaces the stored state), so keep members' clocks in sync across period starts.
 */
public final class CalendarQuota implements LimitAlgorithm {

  /** How many UTC days of usage the state keeps. */
  public static final int DAYS = 7;

  /** Length of {@link LimitState#slots()}: the day pairs, then the last adjustment's second. */
  static final int SLOTS = 2 * DAYS + 1;

  /** Index in the slots of the epoch second of the last grant or reset. */
  private static final int ADJUSTED = 2 * DAYS;

  /** The last-adjustment value of a state never granted or reset. */
  private static final long NEVER = Long.MIN_VALUE;

  /** The day of an unused pair in {@link LimitState#slots()}. */
  public static final long NO_DAY = Long.MIN_VALUE;

  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  private static final long SECONDS_PER_DAY = 86_400L;
  /** Usage days stay readable for this many days after the newest one ends. */
  private static final long DAYS_KEPT_AFTER_USE = 8;
  /** No state is kept longer than this (a restored day far in the future cannot pin it). */
  private static final long MAX_TTL_DAYS = 64;

  private final long limit;
  private final CalendarPeriod period;
  private final int offset;
  private final ZoneId zone;
  private final int anchor;

  /** The last period computed; replaced as a whole, never changed. */
  private volatile Span last;

  /** A period as epoch seconds, {@code [start, end)}. */
  private record Span(long start, long end) {}

  /**
   * @param limit units per period, zero or more; {@code Long.MAX_VALUE} never denies
   * @param period the calendar period
   * @param offset where the period starts: DAY only 0; WEEK 0 (Sunday) to 6 (Saturday); MONTH 0
   *     (the 1st) to 27 (the 28th)
   * @param zone periods start at local midnight in this zone
   * @throws IllegalArgumentException naming the argument that is null or out of range
   */
  public CalendarQuota(long limit, CalendarPeriod period, int offset, ZoneId zone) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0, was " + limit);
    }
    if (period == null) {
      throw new IllegalArgumentException("period must not be null");
    }
    if (zone == null) {
      throw new IllegalArgumentException("zone must not be null");
    }
    int maxOffset = switch (period) {
      case DAY -> 0;
      case WEEK -> 6;
      case MONTH -> 27;
    };
    if (offset < 0 || offset > maxOffset) {
      throw new IllegalArgumentException("offset for period " + period + " must be 0 to "
          + maxOffset + ", was " + offset);
    }
    this.limit = limit;
    this.period = period;
    this.offset = offset;
    this.zone = zone;
    // WEEK: the weekday as 0 (Sunday) to 6; MONTH: the day of the month, 1 to 28.
    this.anchor = period == CalendarPeriod.MONTH ? offset + 1 : offset;
  }

  /**
   * A quota that never denies but still counts: limit {@code Long.MAX_VALUE} per UTC day. For
   * plans without a quota, whose usage is still reported.
   */
  public static CalendarQuota unlimited() {
    return new CalendarQuota(Long.MAX_VALUE, CalendarPeriod.DAY, 0, ZoneOffset.UTC);
  }

  @Override
  public Kind kind() {
    return Kind.CALENDAR_QUOTA;
  }

  /** Units per period. */
  @Override
  public long limit() {
    return limit;
  }

  /**
   * The period's nominal length: 1, 7 or 30 days. The real periods follow the calendar; nothing
   * in this class reads this value.
   */
  @Override
  public long windowNanos() {
    long days = switch (period) {
      case DAY -> 1;
      case WEEK -> 7;
      case MONTH -> 30;
    };
    return days * SECONDS_PER_DAY * NANOS_PER_SECOND;
  }

  /** The calendar period. */
  public CalendarPeriod period() {
    return period;
  }

  /** Where the period starts: the weekday (WEEK, 0 = Sunday) or the day of the month minus 1. */
  public int offset() {
    return offset;
  }

  /** The zone whose midnights start the periods. */
  public ZoneId zone() {
    return zone;
  }

  /**
   * Takes {@code permits} units from the current period if {@code used + permits <= limit}.
   * The decision's {@code resetAfterNanos} is the time until the period ends, allowed or not, and
   * its {@code receipt} is the epoch second of {@code nowNanos}.
   */
  @Override
  public Decision tryAcquire(LimitState state, long permits, long nowNanos) {
    if (permits < 0) {
      throw new IllegalArgumentException("permits must be >= 0, was " + permits);
    }
    long second = Math.floorDiv(nowNanos, NANOS_PER_SECOND);
    Span span = spanAt(second);
    long used = state.mark == span.start ? state.count : 0;
    long resetAfter = untilSecond(span.end, second, nowNanos);
    long available = saturatedSubtract(limit, used);
    if (permits > available && limit != Long.MAX_VALUE) {
      return new Decision(false, permits, limit, Math.max(0, available), resetAfter, second);
    }
    long usedAfter = TokenBucket.saturatedAdd(used, permits);
    if (permits > 0) {
      state.mark = span.start;
      state.count = usedAfter;
      addToDay(state, Math.floorDiv(second, SECONDS_PER_DAY), permits);
    }
    long remaining = Math.max(0, saturatedSubtract(limit, usedAfter));
    return new Decision(true, permits, limit, remaining, resetAfter, second);
  }

  /**
   * Gives back an allowed decision's units: to the count if the receipt's period is still the
   * current one, and to the receipt's UTC day if that day is still kept (never below zero there).
   * The count is not floored: after a grant it may legitimately be negative.
   */
  @Override
  public boolean refund(LimitState state, Decision decision, long nowNanos) {
    long permits = decision.permits();
    if (!decision.allowed() || permits <= 0) {
      return false;
    }
    long receipt = decision.receipt();
    Span current = spanAt(Math.floorDiv(nowNanos, NANOS_PER_SECOND));
    boolean changed = false;
    long[] s = state.slots;
    // Units taken before a grant or reset are part of what the admin replaced: handing them back
    // would add to the count the admin set. Receipts are whole seconds, so a take in the same
    // second as the adjustment is not handed back either (never more than the admin set).
    long adjusted = s != null && s.length == SLOTS ? s[ADJUSTED] : NEVER;
    if (state.mark == current.start && receipt >= current.start && receipt < current.end
        && (adjusted == NEVER || receipt > adjusted)) {
      state.count = saturatedSubtract(state.count, permits);
      changed = true;
    }
    long day = Math.floorDiv(receipt, SECONDS_PER_DAY);
    if (s != null) {
      for (int i = 0; i + 1 < pairsEnd(s); i += 2) {
        if (s[i] == day && s[i + 1] > 0) {
          s[i + 1] = Math.max(0, s[i + 1] - permits);
          changed = true;
          break;
        }
      }
    }
    return changed;
  }

  /**
   * Until the later of the current period's end (if the state counts in it) and
   * {@value #DAYS_KEPT_AFTER_USE} days after the end of the newest usage day; never more than
   * {@value #MAX_TTL_DAYS} days.
   */
  @Override
  public long ttlNanos(LimitState state, long nowNanos) {
    long second = Math.floorDiv(nowNanos, NANOS_PER_SECOND);
    Span span = spanAt(second);
    long seconds = state.mark == span.start ? span.end - second : 0;
    long newest = newestDay(state.slots);
    if (newest != NO_DAY) {
      long today = Math.floorDiv(second, SECONDS_PER_DAY);
      long daysAhead = saturatedSubtract(newest, today);
      if (daysAhead >= -DAYS_KEPT_AFTER_USE) {
        long days = Math.min(MAX_TTL_DAYS, daysAhead) + 1 + DAYS_KEPT_AFTER_USE;
        long untilDay = days * SECONDS_PER_DAY - Math.floorMod(second, SECONDS_PER_DAY);
        seconds = Math.max(seconds, untilDay);
      }
    }
    seconds = Math.min(seconds, MAX_TTL_DAYS * SECONDS_PER_DAY);
    if (seconds <= 0) {
      return 0;
    }
    return seconds * NANOS_PER_SECOND - Math.floorMod(nowNanos, NANOS_PER_SECOND);
  }

  /** The first second of the period containing {@code nowNanos}, in epoch seconds. */
  public long periodStart(long nowNanos) {
    return spanAt(Math.floorDiv(nowNanos, NANOS_PER_SECOND)).start;
  }

  /** The first second after the period containing {@code nowNanos}, in epoch seconds. */
  public long periodEnd(long nowNanos) {
    return spanAt(Math.floorDiv(nowNanos, NANOS_PER_SECOND)).end;
  }

  /**
   * Units counted in the current period: the state's count if it belongs to the period containing
   * {@code nowNanos}, else 0. Negative after a grant above the limit.
   */
  public long used(LimitState state, long nowNanos) {
    return state.mark == periodStart(nowNanos) ? state.count : 0;
  }

  /**
   * A grant: sets what remains of the current period to {@code remaining}, which may exceed the
   * limit (the count becomes {@code limit - remaining}, then negative). Usage days are untouched.
   *
   * @throws IllegalArgumentException if {@code remaining} is negative
   */
  public void setRemaining(LimitState state, long remaining, long nowNanos) {
    if (remaining < 0) {
      throw new IllegalArgumentException("remaining must be >= 0, was " + remaining);
    }
    state.mark = periodStart(nowNanos);
    // Both are >= 0, so the difference cannot overflow.
    state.count = limit - remaining;
    markAdjusted(state, nowNanos);
  }

  /** Sets the current period's count to zero. Usage days are untouched. */
  public void reset(LimitState state, long nowNanos) {
    state.mark = periodStart(nowNanos);
    state.count = 0;
    markAdjusted(state, nowNanos);
  }

  private static void markAdjusted(LimitState state, long nowNanos) {
    if (state.slots == null || state.slots.length != SLOTS) {
      state.slots = emptySlots();
    }
    state.slots[ADJUSTED] = Math.floorDiv(nowNanos, NANOS_PER_SECOND);
  }

  /** Where the day pairs of a slot array end. */
  private static int pairsEnd(long[] s) {
    return Math.min(s.length, 2 * DAYS) & ~1;
  }

  /** The quota at {@code nowNanos} for a state, or for a key never used if it is {@code null}. */
  public QuotaSnapshot snapshot(LimitState stateOrNull, long nowNanos) {
    Span span = spanAt(Math.floorDiv(nowNanos, NANOS_PER_SECOND));
    long used = stateOrNull != null && stateOrNull.mark == span.start ? stateOrNull.count : 0;
    return new QuotaSnapshot(limit, used, span.start, span.end);
  }

  /**
   * The usage days a state keeps: UTC epoch day to units, oldest first. Empty for a {@code null}
   * state or one without days.
   */
  public static SortedMap<Long, Long> usageDays(LimitState state) {
    SortedMap<Long, Long> days = new TreeMap<>();
    long[] s = state == null ? null : state.slots;
    if (s != null) {
      for (int i = 0; i + 1 < pairsEnd(s); i += 2) {
        if (s[i] != NO_DAY) {
          days.put(s[i], s[i + 1]);
        }
      }
    }
    return days;
  }

  /**
   * Builds a state from its parts, for example from an export: the period's start (epoch
   * seconds), its count, and usage per UTC epoch day, of which the {@value #DAYS} newest are
   * kept.
   *
   * @throws IllegalArgumentException if {@code days} is null or holds a null, a day equal to
   *     {@link #NO_DAY} or a negative count
   */
  public static LimitState restore(long periodStart, long used, SortedMap<Long, Long> days) {
    if (days == null) {
      throw new IllegalArgumentException("days must not be null");
    }
    TreeMap<Long, Long> sorted = new TreeMap<>();
    for (Map.Entry<Long, Long> e : days.entrySet()) {
      Long day = e.getKey();
      Long requests = e.getValue();
      if (day == null || requests == null) {
        throw new IllegalArgumentException("days must not hold nulls");
      }
      if (day == NO_DAY) {
        throw new IllegalArgumentException("days: day " + day + " is reserved");
      }
      if (requests < 0) {
        throw new IllegalArgumentException("days: requests on day " + day + " must be >= 0, was "
            + requests);
      }
      sorted.put(day, requests);
    }
    long[] slots = emptySlots();
    int i = 0;
    for (Map.Entry<Long, Long> e : sorted.descendingMap().entrySet()) {
      if (i == 2 * DAYS) {
        break;
      }
      slots[i] = e.getKey();
      slots[i + 1] = e.getValue();
      i += 2;
    }
    return new LimitState(periodStart, used, slots);
  }

  private static long[] emptySlots() {
    long[] slots = new long[SLOTS];
    for (int i = 0; i < 2 * DAYS; i += 2) {
      slots[i] = NO_DAY;
    }
    slots[ADJUSTED] = NEVER;
    return slots;
  }

  /** Adds units to a UTC day's pair, taking a free pair or the oldest day's if it is new. */
  private static void addToDay(LimitState state, long day, long permits) {
    long[] s = state.slots;
    if (s == null || s.length != SLOTS) {
      s = emptySlots();
      state.slots = s;
    }
    int free = -1;
    int oldest = -1;
    for (int i = 0; i < 2 * DAYS; i += 2) {
      long d = s[i];
      if (d == day) {
        s[i + 1] = TokenBucket.saturatedAdd(s[i + 1], permits);
        return;
      }
      if (d == NO_DAY) {
        if (free < 0) {
          free = i;
        }
      } else if (oldest < 0 || d < s[oldest]) {
        oldest = i;
      }
    }
    int at;
    if (free >= 0) {
      at = free;
    } else if (day > s[oldest]) {
      at = oldest;
    } else {
      return;
    }
    s[at] = day;
    s[at + 1] = permits;
  }

  private static long newestDay(long[] s) {
    long newest = NO_DAY;
    if (s != null) {
      for (int i = 0; i + 1 < pairsEnd(s); i += 2) {
        newest = Math.max(newest, s[i]);
      }
    }
    return newest;
  }

  /** Nanoseconds from {@code nowNanos} (in epoch second {@code second}) to {@code endSecond}. */
  private static long untilSecond(long endSecond, long second, long nowNanos) {
    return (endSecond - second) * NANOS_PER_SECOND - Math.floorMod(nowNanos, NANOS_PER_SECOND);
  }

  private Span spanAt(long second) {
    Span s = last;
    if (s != null && second >= s.start && second < s.end) {
      return s;
    }
    s = computeSpan(second);
    last = s;
    return s;
  }

  private Span computeSpan(long second) {
    LocalDate first = firstDay(LocalDate.ofInstant(Instant.ofEpochSecond(second), zone));
    long start = startOf(first);
    // A local date's midnight can lie after an instant of that date when the zone moves its
    // clocks back across midnight; step until the period holds the instant.
    while (second < start) {
      first = step(first, -1);
      start = startOf(first);
    }
    LocalDate next = step(first, 1);
    long end = startOf(next);
    while (second >= end) {
      start = end;
      next = step(next, 1);
      end = startOf(next);
    }
    return new Span(start, end);
  }

  private long startOf(LocalDate date) {
    return date.atStartOfDay(zone).toEpochSecond();
  }

  /** The first day of the period holding {@code date}. */
  private LocalDate firstDay(LocalDate date) {
    return switch (period) {
      case DAY -> date;
      case WEEK -> date.minusDays(Math.floorMod(weekday(date.getDayOfWeek()) - anchor, 7));
      case MONTH -> date.getDayOfMonth() >= anchor
          ? date.withDayOfMonth(anchor)
          : date.minusMonths(1).withDayOfMonth(anchor);
    };
  }

  /** The first day of the period {@code n} periods after the one starting on {@code first}. */
  private LocalDate step(LocalDate first, int n) {
    return switch (period) {
      case DAY -> first.plusDays(n);
      case WEEK -> first.plusWeeks(n);
      // The anchor is at most 28, so every month has it and plusMonths keeps it.
      case MONTH -> first.plusMonths(n);
    };
  }

  /** 0 = Sunday … 6 = Saturday. */
  private static int weekday(DayOfWeek d) {
    return d.getValue() % 7;
  }

  static long saturatedSubtract(long a, long b) {
    long r = a - b;
    if (((a ^ b) & (a ^ r)) < 0) {
      return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
    return r;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CalendarQuota q
        && limit == q.limit
        && period == q.period
        && offset == q.offset
        && zone.equals(q.zone);
  }

  @Override
  public int hashCode() {
    return ((Long.hashCode(limit) * 31 + period.ordinal()) * 31 + offset) * 31 + zone.hashCode();
  }

  @Override
  public String toString() {
    return "CalendarQuota{limit=" + limit + ", period=" + period + ", offset=" + offset
        + ", zone=" + zone + '}';
  }
}
