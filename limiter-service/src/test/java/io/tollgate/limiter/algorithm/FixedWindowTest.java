package io.tollgate.limiter.algorithm;

import static io.tollgate.limiter.algorithm.Clocks.MINUTE;
import static io.tollgate.limiter.algorithm.Clocks.SECOND;
import static io.tollgate.limiter.algorithm.Clocks.alignUp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FixedWindowTest {

  private static final long W = MINUTE;
  private static final long LIMIT = 5;
  private static final String ORIGINS = "io.tollgate.limiter.algorithm.Clocks#origins";

  private final FixedWindow fw = new FixedWindow(LIMIT, W);

  /** The first whole window at or after the origin, plus a nanosecond. */
  private static long inWindow(long origin) {
    return alignUp(origin, W) + 1;
  }

  private static long windowStart(long t) {
    return Math.floorDiv(t, W) * W;
  }

  /** The window index a decision's receipt names. */
  private static long index(long t) {
    return Math.floorDiv(t, W);
  }

  @Test
  void clockSteppingBackIntoAnEarlierWindowKeepsTheNewerCount() {
    long boundary = 100 * W;
    LimitState state = new LimitState();
    assertTrue(fw.tryAcquire(state, LIMIT, boundary + 1_000).allowed());
    // Another member's clock, 2 us behind, still in the previous window.
    Decision behind = fw.tryAcquire(state, 1, boundary - 1_000);
    assertEquals(new Decision(false, 1, LIMIT, 0, W + 1_000, index(boundary)), behind);
    assertFalse(fw.tryAcquire(state, 1, boundary + 2_000).allowed(),
        "a clock step back must not reset the count");
  }

  @Test
  void refundAfterTheWindowEndedDoesNothing() {
    LimitState state = new LimitState();
    Decision d = fw.tryAcquire(state, 2, 5 * W + 1);
    assertFalse(fw.refund(state, d, 6 * W), "the window is over");
    assertTrue(fw.refund(state, d, 6 * W - 1));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void admitsLimitPerWindowThenDenies(long origin) {
    long start = alignUp(origin, W);
    long now = start + 17 * SECOND;
    LimitState state = new LimitState();
    for (long remaining = LIMIT - 1; remaining >= 0; remaining--) {
      Decision d = fw.tryAcquire(state, 1, now);
      assertEquals(new Decision(true, 1, LIMIT, remaining, W - 17 * SECOND, index(start)), d);
      assertEquals(LIMIT - remaining, d.used());
    }
    assertEquals(new Decision(false, 1, LIMIT, 0, W - 17 * SECOND, index(start)),
        fw.tryAcquire(state, 1, now));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void resetAfterIsWindowEndMinusNow(long origin) {
    long start = alignUp(origin, W);
    for (long offset : new long[] {0, 1, W / 2, W - 1}) {
      LimitState state = new LimitState();
      Decision d = fw.tryAcquire(state, 1, start + offset);
      assertEquals(W - offset, d.resetAfterNanos(), "offset " + offset);
      assertEquals(index(start), d.receipt(), "offset " + offset);
    }
    // The origin itself need not be aligned.
    Decision d = fw.tryAcquire(new LimitState(), 1, origin);
    assertEquals(W - Math.floorMod(origin, W), d.resetAfterNanos());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void nextWindowStartsFromZeroExactlyAtTheBoundary(long origin) {
    long start = alignUp(origin, W);
    LimitState state = new LimitState();
    assertTrue(fw.tryAcquire(state, LIMIT, start + W / 3).allowed());
    assertEquals(new Decision(false, 1, LIMIT, 0, 1, index(start)),
        fw.tryAcquire(state, 1, start + W - 1));
    assertEquals(new Decision(true, 1, LIMIT, LIMIT - 1, W, index(start + W)),
        fw.tryAcquire(state, 1, start + W));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void deniedRequestConsumesNothing(long origin) {
    long now = inWindow(origin);
    LimitState state = new LimitState();
    fw.tryAcquire(state, 3, now);
    LimitState before = state.copy();
    Decision denied = fw.tryAcquire(state, 3, now + 1);
    assertFalse(denied.allowed());
    assertEquals(2, denied.remaining());
    assertEquals(before, state);
    assertEquals(new Decision(true, 2, LIMIT, 0, W - 3, index(now)),
        fw.tryAcquire(state, 2, now + 2));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void deniedRequestPassesExactlyAtResetAfter(long origin) {
    long now = inWindow(origin) + 12_345;
    LimitState state = new LimitState();
    fw.tryAcquire(state, LIMIT - 1, now);
    Decision denied = fw.tryAcquire(state, 2, now);
    assertFalse(denied.allowed());
    long reset = denied.resetAfterNanos();
    assertFalse(fw.tryAcquire(state.copy(), 2, now + reset - 1).allowed());
    assertTrue(fw.tryAcquire(state.copy(), 2, now + reset).allowed());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void zeroPermitsReportsRemainingWithoutConsuming(long origin) {
    long now = inWindow(origin);
    LimitState state = new LimitState();
    fw.tryAcquire(state, 2, now);
    LimitState before = state.copy();
    assertEquals(new Decision(true, 0, LIMIT, 3, W - 1, index(now)),
        fw.tryAcquire(state, 0, now));
    assertEquals(before, state);
    fw.tryAcquire(state, 3, now);
    assertEquals(new Decision(true, 0, LIMIT, 0, W - 1, index(now)),
        fw.tryAcquire(state, 0, now));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void moreThanLimitIsAlwaysDeniedAndConsumesNothing(long origin) {
    long now = inWindow(origin);
    LimitState state = new LimitState();
    for (long t = now; t < now + 3 * W; t += W) {
      Decision d = fw.tryAcquire(state, LIMIT + 1, t);
      assertFalse(d.allowed());
      assertEquals(LIMIT, d.remaining());
      assertEquals(new LimitState(index(t), 0, null), state);
    }
    assertEquals(new Decision(false, Long.MAX_VALUE, LIMIT, LIMIT, W - 1, index(now + 3 * W)),
        fw.tryAcquire(state, Long.MAX_VALUE, now + 3 * W));
    assertTrue(fw.tryAcquire(state, LIMIT, now + 3 * W).allowed());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void limitZeroDeniesEverything(long origin) {
    FixedWindow closed = new FixedWindow(0, W);
    LimitState state = new LimitState();
    long now = inWindow(origin);
    for (long t = now; t < now + 3 * W; t += W / 2) {
      assertEquals(new Decision(false, 1, 0, 0, windowStart(t) + W - t, index(t)),
          closed.tryAcquire(state, 1, t));
      assertEquals(new Decision(true, 0, 0, 0, windowStart(t) + W - t, index(t)),
          closed.tryAcquire(state, 0, t));
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundRestoresRemaining(long origin) {
    long now = inWindow(origin);
    LimitState state = new LimitState();
    fw.tryAcquire(state, 1, now);
    Decision d = fw.tryAcquire(state, 3, now);
    assertEquals(1, d.remaining());
    assertTrue(fw.refund(state, d, now + W / 2));
    assertEquals(4, fw.tryAcquire(state, 0, now + W / 2).remaining());
    assertEquals(new LimitState(index(now), 1, null), state);
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundOfDeniedOrEmptyDecisionDoesNothing(long origin) {
    long now = inWindow(origin);
    LimitState state = new LimitState();
    fw.tryAcquire(state, 4, now);
    LimitState before = state.copy();
    Decision denied = fw.tryAcquire(state, 2, now);
    Decision empty = fw.tryAcquire(state, 0, now);
    assertFalse(fw.refund(state, denied, now));
    assertFalse(fw.refund(state, empty, now));
    assertEquals(before, state);
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundGivesBackUnitsOfCurrentWindowOnly(long origin) {
    long now = inWindow(origin);
    LimitState state = new LimitState();
    Decision old = fw.tryAcquire(state, 3, now);
    fw.tryAcquire(state, 2, now + W); // the window moved on
    LimitState before = state.copy();
    assertFalse(fw.refund(state, old, now + W));
    assertEquals(before, state);
    assertEquals(3, fw.tryAcquire(state, 0, now + W).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundAfterWindowEndedChangesNoLaterDecision(long origin) {
    // No call has moved the state to the next window yet, so the count it decrements is that of
    // the ended window, which the next call discards.
    long now = inWindow(origin);
    LimitState refunded = new LimitState();
    Decision d = fw.tryAcquire(refunded, 4, now);
    LimitState untouched = refunded.copy();
    fw.refund(refunded, d, now + W);
    for (long permits = 0; permits <= LIMIT + 1; permits++) {
      assertEquals(fw.tryAcquire(untouched.copy(), permits, now + W),
          fw.tryAcquire(refunded.copy(), permits, now + W));
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void ttlIsTimeToWindowEnd(long origin) {
    long now = inWindow(origin) + 7 * SECOND;
    LimitState state = new LimitState();
    Decision d = fw.tryAcquire(state, 2, now);
    assertEquals(d.resetAfterNanos(), fw.ttlNanos(state, now));
    assertEquals(W - 7 * SECOND - 1, fw.ttlNanos(state, now));
    assertEquals(1, fw.ttlNanos(state, windowStart(now) + W - 1));
    assertEquals(0, fw.ttlNanos(state, windowStart(now) + W));
    assertEquals(0, fw.ttlNanos(state, windowStart(now) + 5 * W));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void afterTtlStoredStateDecidesLikeAFreshOne(long origin) {
    long now = inWindow(origin) + 3 * SECOND;
    LimitState stored = new LimitState();
    fw.tryAcquire(stored, LIMIT, now);
    long ttl = fw.ttlNanos(stored, now);
    for (long later : new long[] {now + ttl, now + ttl + 1, now + ttl + W / 2, now + 3 * W}) {
      for (long permits = 0; permits <= LIMIT + 1; permits++) {
        assertEquals(fw.tryAcquire(new LimitState(), permits, later),
            fw.tryAcquire(stored.copy(), permits, later), "permits " + permits);
      }
    }
    // Just before, the stored state still matters.
    assertFalse(fw.tryAcquire(stored.copy(), 1, now + ttl - 1).allowed());
  }

  @Test
  void negativeTimesFallIntoFlooredWindows() {
    // Truncating division would put -1 in the window [0, W); flooring puts it in [-W, 0).
    assertEquals(new Decision(true, 1, LIMIT, 4, 1, -1), fw.tryAcquire(new LimitState(), 1, -1));
    assertEquals(new Decision(true, 1, LIMIT, 4, W, -1), fw.tryAcquire(new LimitState(), 1, -W));
    assertEquals(new Decision(true, 1, LIMIT, 4, 1, -2),
        fw.tryAcquire(new LimitState(), 1, -W - 1));
    LimitState state = new LimitState();
    fw.tryAcquire(state, LIMIT, -1);
    assertFalse(fw.tryAcquire(state, 1, -W).allowed());
    assertTrue(fw.tryAcquire(state, 1, 0).allowed());
  }

  @Test
  void windowsNearLongMinValueAreProper() {
    // Long.MIN_VALUE is not a multiple of a second, so the first second-long window starts below
    // it and its start is not representable; counting and reset times must still be right.
    FixedWindow perSecond = new FixedWindow(2, SECOND);
    long firstEnd = Long.MIN_VALUE + (SECOND - Math.floorMod(Long.MIN_VALUE, SECOND));
    LimitState state = new LimitState();
    for (long now : new long[] {Long.MIN_VALUE, Long.MIN_VALUE + 1, firstEnd - 1}) {
      assertEquals(firstEnd - now,
          perSecond.tryAcquire(new LimitState(), 0, now).resetAfterNanos());
    }
    assertTrue(perSecond.tryAcquire(state, 1, Long.MIN_VALUE).allowed());
    assertTrue(perSecond.tryAcquire(state, 1, Long.MIN_VALUE + 1).allowed());
    assertEquals(new Decision(false, 1, 2, 0, 1, state.mark()),
        perSecond.tryAcquire(state, 1, firstEnd - 1));
    assertEquals(1, perSecond.ttlNanos(state, firstEnd - 1));
    assertEquals(new Decision(true, 1, 2, 1, SECOND, Math.floorDiv(firstEnd, SECOND)),
        perSecond.tryAcquire(state, 1, firstEnd));
  }

  @ParameterizedTest
  @MethodSource("io.tollgate.limiter.algorithm.Clocks#originsWithSeeds")
  void neverAdmitsMoreThanLimitPerAlignedWindow(long origin, long seed) {
    // An independent model of the documented counting: per aligned window, admit while
    // count + permits <= limit; a denial adds nothing.
    Random random = new Random(seed);
    FixedWindow small = new FixedWindow(7, SECOND);
    LimitState state = new LimitState();
    Map<Long, Long> admitted = new HashMap<>();
    long now = origin;
    for (int step = 0; step < 10_000; step++) {
      now += random.nextInt(4) == 0 ? 0 : random.nextInt((int) (SECOND / 8));
      long permits = random.nextInt(4);
      long window = Math.floorDiv(now, SECOND);
      long used = admitted.getOrDefault(window, 0L);
      boolean expected = used + permits <= 7;
      Decision d = small.tryAcquire(state, permits, now);
      assertEquals(expected, d.allowed(), "step " + step);
      if (expected) {
        used += permits;
        admitted.put(window, used);
      }
      assertEquals(7 - used, d.remaining(), "step " + step);
      assertEquals(SECOND - Math.floorMod(now, SECOND), d.resetAfterNanos(), "step " + step);
      assertTrue(used <= 7);
    }
    assertTrue(admitted.size() > 100, "the run spans many windows");
    assertTrue(admitted.values().stream().filter(u -> u == 7).count() > 50,
        "the run fills many windows");
  }

  @Test
  void constructorRejectsBadArgumentsNamingThem() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new FixedWindow(-1, W))
        .getMessage().startsWith("limit "));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new FixedWindow(1, 0))
        .getMessage().startsWith("windowNanos "));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new FixedWindow(1, -W))
        .getMessage().startsWith("windowNanos "));
    assertEquals(0, new FixedWindow(0, 1).limit());
  }

  @Test
  void factoryBuildsAFixedWindowAndIgnoresBurst() {
    LimitAlgorithm a = LimitAlgorithm.of(LimitAlgorithm.Kind.FIXED_WINDOW, 5, W, 99);
    assertInstanceOf(FixedWindow.class, a);
    assertEquals(LimitAlgorithm.Kind.FIXED_WINDOW, a.kind());
    assertEquals(5, a.limit());
    assertEquals(W, a.windowNanos());
    assertEquals("fixed_window", a.kind().configName());
  }
}
