package io.tollgate.limiter.algorithm;

import static io.tollgate.limiter.algorithm.Clocks.SECOND;
import static io.tollgate.limiter.algorithm.Clocks.alignUp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SlidingWindowTest {

  private static final long W = SECOND;
  private static final long SLOT = W / SlidingWindow.SLOTS;
  private static final long LIMIT = 5;
  private static final String ORIGINS = "io.tollgate.limiter.algorithm.Clocks#origins";

  private final SlidingWindow sw = new SlidingWindow(LIMIT, W);

  private static long slotOf(long t) {
    return Math.floorDiv(t, SLOT);
  }

  /** The start of the first whole slot at or after the origin. */
  private static long firstSlot(long origin) {
    return alignUp(origin, SLOT);
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void admitsTheLimitThenDenies(long origin) {
    long now = firstSlot(origin) + 3 * SLOT + 7;
    long s = slotOf(now);
    long untilSlotDrops = 11 * SLOT - 7;
    LimitState state = new LimitState();
    for (long remaining = LIMIT - 1; remaining >= 0; remaining--) {
      Decision d = sw.tryAcquire(state, 1, now);
      assertEquals(new Decision(true, 1, LIMIT, remaining, untilSlotDrops, s), d);
      assertEquals(LIMIT - remaining, d.used());
    }
    assertEquals(new Decision(false, 1, LIMIT, 0, untilSlotDrops, s),
        sw.tryAcquire(state, 1, now));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void unitStopsCountingBetweenOneAndElevenTenthsOfAWindowAfterItPassed(long origin) {
    long slotStart = firstSlot(origin) + SLOT;
    for (long offset : new long[] {0, 1, SLOT / 2, SLOT - 1}) {
      long admittedAt = slotStart + offset;
      LimitState state = new LimitState();
      assertTrue(sw.tryAcquire(state, LIMIT, admittedAt).allowed());
      long freedAt = slotStart + 11 * SLOT;
      long counted = freedAt - admittedAt;
      assertTrue(counted > W && counted <= W + W / 10, "offset " + offset);
      assertFalse(sw.tryAcquire(state, 1, admittedAt + W).allowed(), "offset " + offset);
      assertFalse(sw.tryAcquire(state, 1, freedAt - 1).allowed(), "offset " + offset);
      assertEquals(new Decision(true, LIMIT, LIMIT, 0, 11 * SLOT, slotOf(freedAt)),
          sw.tryAcquire(state, LIMIT, freedAt), "offset " + offset);
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void noDoubleBurstAroundAFixedWindowBoundary(long origin) {
    long boundary = alignUp(origin, W) + W;
    FixedWindow fixed = new FixedWindow(LIMIT, W);
    LimitState fixedState = new LimitState();
    LimitState state = new LimitState();
    assertTrue(fixed.tryAcquire(fixedState, LIMIT, boundary - 1).allowed());
    assertTrue(sw.tryAcquire(state, LIMIT, boundary - 1).allowed());
    // The fixed window lets the limit through again a nanosecond later; the sliding one waits
    // a whole window length after the last unit.
    assertTrue(fixed.tryAcquire(fixedState, LIMIT, boundary).allowed());
    assertFalse(sw.tryAcquire(state, 1, boundary).allowed());
    assertFalse(sw.tryAcquire(state, 1, boundary + W - 1).allowed());
    assertTrue(sw.tryAcquire(state, LIMIT, boundary + W).allowed());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void unitsDropOutSlotBySlot(long origin) {
    long start = firstSlot(origin);
    long s = slotOf(start);
    LimitState state = new LimitState();
    sw.tryAcquire(state, 2, start);
    sw.tryAcquire(state, 2, start + 3 * SLOT);
    sw.tryAcquire(state, 1, start + 5 * SLOT);
    long now = start + 7 * SLOT + 11;
    // Each denial waits for the oldest slots that free enough units.
    assertEquals(new Decision(false, 1, LIMIT, 0, (s + 11) * SLOT - now, s + 7),
        sw.tryAcquire(state, 1, now));
    assertEquals(new Decision(false, 3, LIMIT, 0, (s + 14) * SLOT - now, s + 7),
        sw.tryAcquire(state, 3, now));
    assertEquals(new Decision(false, 5, LIMIT, 0, (s + 16) * SLOT - now, s + 7),
        sw.tryAcquire(state, 5, now));
    assertEquals(2, sw.tryAcquire(state, 0, (s + 11) * SLOT).remaining());
    assertEquals(4, sw.tryAcquire(state, 0, (s + 14) * SLOT).remaining());
    assertEquals(5, sw.tryAcquire(state, 0, (s + 16) * SLOT).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void deniedRequestConsumesNothing(long origin) {
    long now = firstSlot(origin) + 5;
    LimitState state = new LimitState();
    sw.tryAcquire(state, 3, now);
    LimitState before = state.copy();
    Decision d = sw.tryAcquire(state, 3, now + SLOT);
    assertFalse(d.allowed());
    assertEquals(2, d.remaining());
    // Moving the ring on to the newer slot (whose count is zero) is all a denial may do.
    assertEquals(new LimitState(slotOf(now + SLOT), 0, before.slots()), state);
    assertTrue(sw.tryAcquire(state, 2, now + SLOT).allowed());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void zeroPermitsReportsRemainingWithoutConsuming(long origin) {
    long now = firstSlot(origin) + 5;
    LimitState state = new LimitState();
    sw.tryAcquire(state, 2, now);
    LimitState before = state.copy();
    Decision d = sw.tryAcquire(state, 0, now + 1);
    assertTrue(d.allowed());
    assertEquals(3, d.remaining());
    assertEquals(before, state);
    sw.tryAcquire(state, 3, now);
    assertEquals(new Decision(true, 0, LIMIT, 0, 11 * SLOT - 5, slotOf(now)),
        sw.tryAcquire(state, 0, now));

    LimitState probed = new LimitState();
    sw.tryAcquire(probed, 0, now);
    for (long permits = 0; permits <= LIMIT + 1; permits++) {
      assertEquals(sw.tryAcquire(new LimitState(), permits, now + 1),
          sw.tryAcquire(probed.copy(), permits, now + 1));
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void moreThanTheLimitIsAlwaysDeniedAndConsumesNothing(long origin) {
    long now = firstSlot(origin);
    LimitState state = new LimitState();
    for (long t = now; t < now + 3 * W; t += W / 3) {
      Decision d = sw.tryAcquire(state, LIMIT + 1, t);
      assertFalse(d.allowed());
      assertEquals(LIMIT, d.remaining());
      assertEquals(0, sum(state.slots()));
    }
    assertTrue(sw.tryAcquire(state, LIMIT, now + 3 * W).allowed());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void limitZeroDeniesEverything(long origin) {
    SlidingWindow closed = new SlidingWindow(0, W);
    LimitState state = new LimitState();
    long now = firstSlot(origin);
    for (long t = now; t < now + 3 * W; t += SLOT * 3 / 2) {
      Decision one = closed.tryAcquire(state, 1, t);
      assertFalse(one.allowed());
      assertEquals(0, one.remaining());
      Decision none = closed.tryAcquire(state, 0, t);
      assertTrue(none.allowed());
      assertEquals(0, none.remaining());
      assertEquals(0, sum(state.slots()));
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundRestoresRemaining(long origin) {
    long now = firstSlot(origin);
    LimitState state = new LimitState();
    Decision first = sw.tryAcquire(state, 2, now);
    Decision second = sw.tryAcquire(state, 2, now + 2 * SLOT);
    assertEquals(1, second.remaining());
    assertTrue(sw.refund(state, first, now + 4 * SLOT));
    assertEquals(3, sw.tryAcquire(state, 0, now + 4 * SLOT).remaining());
    assertTrue(sw.refund(state, second, now + 4 * SLOT));
    assertEquals(LIMIT, sw.tryAcquire(state, 0, now + 4 * SLOT).remaining());
    assertEquals(0, sum(state.slots()));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundOfASlotStillCountedGivesBackItsUnits(long origin) {
    long now = firstSlot(origin);
    LimitState state = new LimitState();
    Decision d = sw.tryAcquire(state, LIMIT, now);
    long lastCounted = now + 10 * SLOT + SLOT - 1;
    assertFalse(sw.tryAcquire(state, 1, lastCounted).allowed());
    assertTrue(sw.refund(state, d, lastCounted));
    assertEquals(LIMIT, sw.tryAcquire(state, 0, lastCounted).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundOfAnExpiredSlotDoesNothing(long origin) {
    long now = firstSlot(origin);
    LimitState state = new LimitState();
    Decision old = sw.tryAcquire(state, 3, now);
    sw.tryAcquire(state, 2, now + 11 * SLOT); // the slot of `old` has dropped out
    LimitState before = state.copy();
    assertFalse(sw.refund(state, old, now + 11 * SLOT));
    assertEquals(before, state);
    assertEquals(3, sw.tryAcquire(state, 0, now + 11 * SLOT).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundAfterTheSlotExpiredChangesNoLaterDecision(long origin) {
    // No call has moved the ring past the refunded slot yet; the next call clears it anyway.
    long now = firstSlot(origin);
    LimitState refunded = new LimitState();
    Decision d = sw.tryAcquire(refunded, 4, now);
    LimitState untouched = refunded.copy();
    long later = now + 11 * SLOT;
    sw.refund(refunded, d, later);
    for (long permits = 0; permits <= LIMIT + 1; permits++) {
      assertEquals(sw.tryAcquire(untouched.copy(), permits, later),
          sw.tryAcquire(refunded.copy(), permits, later));
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundOfDeniedEmptyOrForeignDecisionDoesNothing(long origin) {
    long now = firstSlot(origin);
    LimitState other = new LimitState();
    Decision fromTheFuture = sw.tryAcquire(other, 1, now + 5 * SLOT);
    LimitState state = new LimitState();
    Decision taken = sw.tryAcquire(state, 4, now);
    LimitState before = state.copy();
    assertFalse(sw.refund(state, sw.tryAcquire(state, 2, now), now));
    assertFalse(sw.refund(state, sw.tryAcquire(state, 0, now), now));
    assertFalse(sw.refund(state, fromTheFuture, now));
    assertEquals(before, state);
    LimitState unused = new LimitState();
    assertFalse(sw.refund(unused, taken, now));
    assertEquals(new LimitState(), unused);
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void clockSteppingBackStandsStillAtTheNewestSlot(long origin) {
    long start = firstSlot(origin);
    long newest = slotOf(start) + 5;
    long ahead = start + 5 * SLOT + 3; // one member's clock
    long behind = start + 2; // another's, five slots behind
    LimitState state = new LimitState();
    sw.tryAcquire(state, 1, ahead);
    Decision d = sw.tryAcquire(state, 4, behind);
    // Counted in the newest slot, not in the older one the clock says.
    assertEquals(new Decision(true, 4, LIMIT, 0, (newest + 11) * SLOT - behind, newest), d);
    assertEquals(newest, state.mark());
    assertEquals((newest + 11) * SLOT - behind, sw.ttlNanos(state, behind));
    Decision denied = sw.tryAcquire(state, 1, behind);
    assertEquals((newest + 11) * SLOT - behind, denied.resetAfterNanos());
    assertFalse(sw.tryAcquire(state.copy(), 1, behind + denied.resetAfterNanos() - 1).allowed());
    assertTrue(sw.tryAcquire(state.copy(), 1, behind + denied.resetAfterNanos()).allowed());
    assertTrue(sw.refund(state, d, behind));
    assertEquals(4, sw.tryAcquire(state, 0, behind).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void ttlIsUntilTheNewestSlotDropsOut(long origin) {
    assertEquals(0, sw.ttlNanos(new LimitState(), origin));
    long now = firstSlot(origin) + 2 * SLOT + 9;
    LimitState state = new LimitState();
    sw.tryAcquire(state, 1, now - 2 * SLOT);
    sw.tryAcquire(state, 1, now);
    assertEquals(11 * SLOT - 9, sw.ttlNanos(state, now));
    assertEquals(1, sw.ttlNanos(state, now - 9 + 11 * SLOT - 1));
    assertEquals(0, sw.ttlNanos(state, now - 9 + 11 * SLOT));
    assertEquals(0, sw.ttlNanos(state, now + 5 * W));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void afterTtlStoredStateDecidesLikeAFreshOne(long origin) {
    long now = firstSlot(origin) + 4 * SLOT + 1;
    LimitState stored = new LimitState();
    sw.tryAcquire(stored, 2, now - 4 * SLOT);
    sw.tryAcquire(stored, 3, now);
    long ttl = sw.ttlNanos(stored, now);
    for (long later : new long[] {now + ttl, now + ttl + 1, now + ttl + SLOT, now + ttl + 3 * W}) {
      for (long permits = 0; permits <= LIMIT + 1; permits++) {
        assertEquals(sw.tryAcquire(new LimitState(), permits, later),
            sw.tryAcquire(stored.copy(), permits, later), "permits " + permits);
      }
    }
    assertEquals(LIMIT - 3, sw.tryAcquire(stored.copy(), 0, now + ttl - 1).remaining());
  }

  /**
   * Runs a seeded random load and checks every decision against an independent model of the
   * documented rule (a request at t counts the units admitted in t's slot and the ten slots
   * before it), every denial's retry time by retrying, and every window-length span of the run
   * against the limit.
   */
  @ParameterizedTest
  @MethodSource("io.tollgate.limiter.algorithm.Clocks#originsWithSeeds")
  void neverAdmitsMoreThanTheLimitInAnyWindowLengthSpan(long origin, long seed) {
    Random random = new Random(seed);
    LimitState state = new LimitState();
    List<long[]> admitted = new ArrayList<>(); // {time relative to origin, slot, permits}
    int spanStart = 0; // first admitted unit inside [t - W, t]
    long inSpan = 0;
    long rel = 0;
    int allowedCount = 0;
    int deniedCount = 0;
    for (int step = 0; step < 10_000; step++) {
      rel += random.nextInt(3) == 0 ? 0 : 1 + random.nextInt((int) (2 * SLOT));
      long now = origin + rel;
      long slot = slotOf(now);
      long permits = random.nextInt(50) == 0 ? LIMIT + 1 : random.nextInt(3);
      String at = "step " + step;

      long counted = countedAt(admitted, slot);
      boolean expected = counted + permits <= LIMIT;
      LimitState before = state.copy();
      Decision d = sw.tryAcquire(state, permits, now);
      assertEquals(expected, d.allowed(), at);
      assertEquals(LIMIT - counted - (expected ? permits : 0), d.remaining(), at);
      assertTrue(d.remaining() >= 0 && d.remaining() <= LIMIT, at);
      if (!expected) {
        deniedCount++;
        if (permits <= LIMIT) {
          // The model's answer: the first slot boundary at which enough units have dropped out.
          long k = slot + 1;
          while (countedAt(admitted, k) + permits > LIMIT) {
            k++;
          }
          assertEquals(k * SLOT - now, d.resetAfterNanos(), at);
          long retry = now + d.resetAfterNanos();
          assertFalse(sw.tryAcquire(before.copy(), permits, retry - 1).allowed(), at);
          assertTrue(sw.tryAcquire(before.copy(), permits, retry).allowed(), at);
        }
        continue;
      }
      allowedCount++;
      assertEquals(slot, d.receipt(), at);
      if (permits == 0) {
        continue;
      }
      admitted.add(new long[] {rel, slot, permits});
      inSpan += permits;
      while (admitted.get(spanStart)[0] < rel - W) {
        inSpan -= admitted.get(spanStart)[2];
        spanStart++;
      }
      assertTrue(inSpan <= LIMIT, at + ": " + inSpan + " units within one window length");
    }
    assertTrue(allowedCount > 3_000 && deniedCount > 1_000,
        "the load both passes and overflows the limit: " + allowedCount + "/" + deniedCount);
  }

  /** Units the model counts for a request in {@code slot}: those of it and the ten before. */
  private static long countedAt(List<long[]> admitted, long slot) {
    long sum = 0;
    for (int i = admitted.size() - 1; i >= 0 && admitted.get(i)[1] >= slot - SlidingWindow.SLOTS;
        i--) {
      sum += admitted.get(i)[2];
    }
    return sum;
  }

  private static long sum(long[] slots) {
    long s = 0;
    for (long c : slots) {
      s += c;
    }
    return s;
  }

  @Test
  void constructorRejectsBadArgumentsNamingThem() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new SlidingWindow(-1, W))
        .getMessage().startsWith("limit "));
    for (long window : new long[] {0, -10, 15, 9}) {
      assertTrue(assertThrows(IllegalArgumentException.class, () -> new SlidingWindow(1, window))
          .getMessage().startsWith("windowNanos "), "window " + window);
    }
    assertEquals(10, new SlidingWindow(0, 10).windowNanos());
  }

  @Test
  void factoryBuildsASlidingWindowAndIgnoresBurst() {
    LimitAlgorithm a = LimitAlgorithm.of(LimitAlgorithm.Kind.SLIDING_WINDOW, 5, W, 99);
    assertInstanceOf(SlidingWindow.class, a);
    assertEquals(LimitAlgorithm.Kind.SLIDING_WINDOW, a.kind());
    assertEquals(5, a.limit());
    assertEquals(W, a.windowNanos());
    assertEquals("sliding_window", a.kind().configName());
  }
}
