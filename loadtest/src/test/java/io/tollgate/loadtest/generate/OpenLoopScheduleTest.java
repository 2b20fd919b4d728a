package io.tollgate.loadtest.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OpenLoopScheduleTest {

  private static final long[] STARTS = {0, 1_000_000_007L, -5_000_000_000L, Long.MAX_VALUE / 4};

  @Test
  void intendedTimesAreEvenlySpacedFromStart() {
    for (long start : STARTS) {
      OpenLoopSchedule s = new OpenLoopSchedule(start, 1000);
      assertEquals(start, s.intendedNanos(0));
      assertEquals(start + 1_000_000L, s.intendedNanos(1));
      assertEquals(start + 1_000_000_000L, s.intendedNanos(1000));
    }
  }

  @Test
  void roundingNeverAccumulates() {
    OpenLoopSchedule s = new OpenLoopSchedule(0, 3);
    assertEquals(333_333_333L, s.intendedNanos(1));
    assertEquals(666_666_666L, s.intendedNanos(2));
    assertEquals(1_000_000_000L, s.intendedNanos(3));
    // A million requests later, still exactly on the second boundary.
    assertEquals(1_000_000L * 1_000_000_000L / 3 * 1, s.intendedNanos(1_000_000L) - 0,
        "floor(1e6 * 1e9 / 3)");
    assertEquals(1_000_000_000L * 1_000_000L, s.intendedNanos(3_000_000L));
  }

  @Test
  void fractionalRates() {
    OpenLoopSchedule s = new OpenLoopSchedule(100, 0.5);
    assertEquals(100, s.intendedNanos(0));
    assertEquals(100 + 2_000_000_000L, s.intendedNanos(1));
    assertEquals(100 + 20_000_000_000L, s.intendedNanos(10));
  }

  @Test
  void intendedTimesNeverDecrease() {
    OpenLoopSchedule s = new OpenLoopSchedule(42, 7_777.7);
    long previous = Long.MIN_VALUE;
    for (long i = 0; i < 100_000; i++) {
      long t = s.intendedNanos(i);
      assertTrue(t >= previous, "at " + i);
      previous = t;
    }
  }

  @Test
  void dueByCountsExactlyTheRequestsWhoseTimeHasCome() {
    SplittableRandom random = new SplittableRandom(3);
    for (long start : STARTS) {
      for (double rate : new double[] {1, 3, 1000, 12_345.6, 250_000}) {
        OpenLoopSchedule s = new OpenLoopSchedule(start, rate);
        for (int k = 0; k < 2_000; k++) {
          long now = start + random.nextLong(0, 100_000_000_000L);
          long due = s.dueBy(now);
          assertTrue(due >= 1);
          assertTrue(s.intendedNanos(due - 1) <= now, "last due is not after now");
          assertTrue(s.intendedNanos(due) > now, "first not due is after now");
        }
        assertEquals(1, s.dueBy(start));
        assertEquals(0, s.dueBy(start - 1));
      }
    }
  }

  @Test
  void rejectsBadArguments() {
    assertThrows(IllegalArgumentException.class, () -> new OpenLoopSchedule(0, 0));
    assertThrows(IllegalArgumentException.class, () -> new OpenLoopSchedule(0, -1));
    assertThrows(IllegalArgumentException.class, () -> new OpenLoopSchedule(0, Double.NaN));
    assertThrows(IllegalArgumentException.class,
        () -> new OpenLoopSchedule(0, Double.POSITIVE_INFINITY));
    assertThrows(IllegalArgumentException.class, () -> new OpenLoopSchedule(0, 1).intendedNanos(-1));
  }
}
