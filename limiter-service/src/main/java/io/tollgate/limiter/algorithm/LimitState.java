package io.tollgate.limiter.algorithm;

import java.util.Arrays;

/**
 * The mutable state of one limit on one key, small and of fixed layout so that it is cheap to
 * keep in a grid entry and to copy to a backup.
 *
 * <ul>
 *   <li>fixed window: {@code mark} is the window index, {@code count} the units used in it;
 *   <li>token bucket: {@code mark} is the theoretical arrival time (see {@link TokenBucket});
 *   <li>sliding window: {@code mark} is the newest slot index, {@code slots} the ring of counts;
 *   <li>calendar quota: {@code mark} is the period's start in epoch seconds, {@code count} the
 *       units used in it, {@code slots} pairs {@code [epochDay, requests]} of recent UTC days
 *       (see {@link CalendarQuota}).
 * </ul>
 *
 * <p>Instances are confined to one thread at a time (a grid partition thread or a test).
 */
public final class LimitState {

  /** The value of {@code mark} for a state that has never been used. */
  public static final long UNSET = Long.MIN_VALUE;

  long mark;
  long count;
  long[] slots;

  /** Creates an unused state. */
  public LimitState() {
    this.mark = UNSET;
  }

  /** Creates a state with the given fields; used when reading a stored state. */
  public LimitState(long mark, long count, long[] slots) {
    this.mark = mark;
    this.count = count;
    this.slots = slots;
  }

  /** The algorithm-specific time mark. */
  public long mark() {
    return mark;
  }

  /** The units counted (fixed window and calendar quota). */
  public long count() {
    return count;
  }

  /**
   * The sliding window's slot counts or the calendar quota's usage days, or {@code null}. The
   * array is not copied.
   */
  public long[] slots() {
    return slots;
  }

  /** Returns an independent copy. */
  public LimitState copy() {
    return new LimitState(mark, count, slots == null ? null : slots.clone());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LimitState other
        && mark == other.mark
        && count == other.count
        && Arrays.equals(slots, other.slots);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(mark) * 31 + Long.hashCode(count) * 17 + Arrays.hashCode(slots);
  }

  @Override
  public String toString() {
    return "LimitState{mark=" + mark + ", count=" + count
        + (slots == null ? "" : ", slots=" + Arrays.toString(slots)) + '}';
  }
}
