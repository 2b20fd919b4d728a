package io.tollgate.limiter.algorithm;

import static io.tollgate.limiter.algorithm.Clocks.MINUTE;
import static io.tollgate.limiter.algorithm.Clocks.SECOND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TokenBucketTest {

  private static final long RATE = 10;
  private static final long BURST = 10;
  /** Nanoseconds per token: a second / 10. */
  private static final long I = SECOND / RATE;
  private static final String ORIGINS = "io.tollgate.limiter.algorithm.Clocks#origins";

  private final TokenBucket tb = new TokenBucket(RATE, SECOND, BURST);

  private static Decision allowed(long permits, long remaining, long resetAfter) {
    return new Decision(true, permits, BURST, remaining, resetAfter, 0);
  }

  private static Decision denied(long permits, long remaining, long resetAfter) {
    return new Decision(false, permits, BURST, remaining, resetAfter, 0);
  }

  /** A state whose bucket is empty at {@code now}. */
  private LimitState emptyAt(long now) {
    LimitState state = new LimitState();
    assertTrue(tb.tryAcquire(state, BURST, now).allowed());
    return state;
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void freshBucketIsFull(long origin) {
    assertEquals(allowed(0, BURST, 0), tb.tryAcquire(new LimitState(), 0, origin));
    assertEquals(allowed(BURST, 0, BURST * I), tb.tryAcquire(new LimitState(), BURST, origin));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void takesTheBurstAtOnceThenDenies(long origin) {
    LimitState state = new LimitState();
    for (long k = 1; k <= BURST; k++) {
      Decision d = tb.tryAcquire(state, 1, origin);
      assertEquals(allowed(1, BURST - k, k * I), d);
      assertEquals(k, d.used());
    }
    assertEquals(denied(1, 0, I), tb.tryAcquire(state, 1, origin));
    assertEquals(denied(3, 0, 3 * I), tb.tryAcquire(state, 3, origin));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refillsOneTokenPerInterval(long origin) {
    LimitState state = emptyAt(origin);
    assertEquals(denied(1, 0, 1), tb.tryAcquire(state, 1, origin + I - 1));
    assertEquals(allowed(0, 5, 5 * I), tb.tryAcquire(state.copy(), 0, origin + 5 * I));
    assertEquals(allowed(0, 4, 5 * I + 1), tb.tryAcquire(state.copy(), 0, origin + 5 * I - 1));
    assertEquals(allowed(1, 0, BURST * I), tb.tryAcquire(state, 1, origin + I));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refillsToCapacityAfterLongIdle(long origin) {
    LimitState state = emptyAt(origin);
    long later = origin + 1_000 * SECOND;
    assertEquals(allowed(0, BURST, 0), tb.tryAcquire(state, 0, later));
    Decision tooMany = tb.tryAcquire(state, BURST + 1, later);
    assertFalse(tooMany.allowed());
    assertEquals(BURST, tooMany.remaining());
    assertEquals(allowed(BURST, 0, BURST * I), tb.tryAcquire(state, BURST, later));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void burstLargerThanRateIsTheBucketSize(long origin) {
    TokenBucket bursty = new TokenBucket(RATE, SECOND, 25);
    LimitState state = new LimitState();
    assertEquals(new Decision(true, 25, 25, 0, 25 * I, 0), bursty.tryAcquire(state, 25, origin));
    assertEquals(new Decision(false, 10, 25, 9, I, 0),
        bursty.tryAcquire(state, 10, origin + 9 * I));
    assertEquals(new Decision(true, 0, 25, 25, 0, 0),
        bursty.tryAcquire(state, 0, origin + 25 * I));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void deniedRequestConsumesNothing(long origin) {
    LimitState state = new LimitState();
    tb.tryAcquire(state, 7, origin);
    LimitState before = state.copy();
    assertEquals(denied(4, 3, I), tb.tryAcquire(state, 4, origin));
    assertEquals(before, state);
    assertEquals(allowed(3, 0, BURST * I), tb.tryAcquire(state, 3, origin));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void deniedResetAfterIsWhenTheSameRequestFirstPasses(long origin) {
    for (long used = 1; used <= BURST; used++) {
      LimitState state = new LimitState();
      tb.tryAcquire(state, used, origin);
      long now = origin + I / 3;
      for (long permits = 1; permits <= BURST; permits++) {
        Decision d = tb.tryAcquire(state, permits, now);
        if (d.allowed()) {
          continue;
        }
        long reset = d.resetAfterNanos();
        String what = "used " + used + ", permits " + permits;
        assertFalse(tb.tryAcquire(state.copy(), permits, now + reset - 1).allowed(), what);
        assertTrue(tb.tryAcquire(state.copy(), permits, now + reset).allowed(), what);
      }
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void allowedResetAfterIsWhenTheBucketIsFullAgain(long origin) {
    LimitState state = new LimitState();
    Decision d = tb.tryAcquire(state, 4, origin + 3);
    assertEquals(4 * I, d.resetAfterNanos());
    long full = origin + 3 + d.resetAfterNanos();
    assertEquals(BURST - 1, tb.tryAcquire(state.copy(), 0, full - 1).remaining());
    assertEquals(BURST, tb.tryAcquire(state.copy(), 0, full).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void zeroPermitsReportsRemainingWithoutConsuming(long origin) {
    LimitState state = new LimitState();
    tb.tryAcquire(state, 6, origin);
    LimitState before = state.copy();
    assertEquals(allowed(0, 4, 6 * I - I / 2), tb.tryAcquire(state, 0, origin + I / 2));
    assertEquals(before, state);
    tb.tryAcquire(state, 4, origin);
    assertEquals(allowed(0, 0, BURST * I), tb.tryAcquire(state, 0, origin));

    // On an unused state a zero-permit call changes nothing a later call can see.
    LimitState probed = new LimitState();
    tb.tryAcquire(probed, 0, origin);
    for (long permits = 0; permits <= BURST + 1; permits++) {
      assertEquals(tb.tryAcquire(new LimitState(), permits, origin + 1),
          tb.tryAcquire(probed.copy(), permits, origin + 1));
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void moreThanBurstIsAlwaysDeniedAndConsumesNothing(long origin) {
    LimitState state = new LimitState();
    for (long t = origin; t < origin + 5 * SECOND; t += SECOND) {
      Decision d = tb.tryAcquire(state, BURST + 1, t);
      assertFalse(d.allowed());
      assertEquals(BURST, d.remaining());
      assertEquals(new LimitState(), state);
    }
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void hugeRequestIsDeniedWhateverTheClock(long origin) {
    // The cost of these requests overflows (or nearly): n * interval, plus the debt already in
    // the bucket, is past Long.MAX_VALUE. Saturation may only make the bucket look emptier.
    LimitState state = new LimitState();
    tb.tryAcquire(state, 1, origin);
    LimitState before = state.copy();
    for (long permits : new long[] {Long.MAX_VALUE, Long.MAX_VALUE / I, BURST + 1}) {
      assertFalse(tb.tryAcquire(state, permits, origin + 1).allowed(), "permits " + permits);
      assertEquals(before, state, "permits " + permits);
    }

    // The largest hits_addend Envoy can send, against a per-minute bucket: 2^32-1 tokens of six
    // seconds each is far past Long.MAX_VALUE nanoseconds.
    TokenBucket perMinute = new TokenBucket(10, MINUTE, 10);
    LimitState minute = new LimitState();
    perMinute.tryAcquire(minute, 1, origin);
    LimitState minuteBefore = minute.copy();
    assertFalse(perMinute.tryAcquire(minute, 4_294_967_295L, origin + 1).allowed());
    assertEquals(minuteBefore, minute);
    assertEquals(9, perMinute.tryAcquire(minute, 0, origin + 1).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void saturatedCapacityOnlyMakesTheBucketLookEmptier(long origin) {
    // One token an hour, bucket of three million: burst * interval is past Long.MAX_VALUE, so the
    // bucket can hold only as many tokens as fit in Long.MAX_VALUE nanoseconds.
    long hour = 3_600 * SECOND;
    TokenBucket hourly = new TokenBucket(1, hour, 3_000_000);
    long fits = Long.MAX_VALUE / hour;
    assertEquals(2_562_047, fits);
    assertEquals(new Decision(true, 0, 3_000_000, fits, 0, 0),
        hourly.tryAcquire(new LimitState(), 0, origin));
    LimitState state = new LimitState();
    assertFalse(hourly.tryAcquire(state, fits + 1, origin).allowed());
    assertEquals(new LimitState(), state);
    assertEquals(new Decision(true, 1, 3_000_000, fits - 1, hour, 0),
        hourly.tryAcquire(state, 1, origin));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundRestoresRemaining(long origin) {
    LimitState state = new LimitState();
    Decision first = tb.tryAcquire(state, 3, origin);
    Decision second = tb.tryAcquire(state, 2, origin);
    assertEquals(5, second.remaining());
    assertTrue(tb.refund(state, first, origin));
    assertEquals(allowed(0, 8, 2 * I), tb.tryAcquire(state, 0, origin));
    assertTrue(tb.refund(state, second, origin));
    assertEquals(allowed(0, BURST, 0), tb.tryAcquire(state, 0, origin));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundNeverExceedsBurst(long origin) {
    LimitState state = new LimitState();
    Decision d = tb.tryAcquire(state, 3, origin);
    long now = origin + 2 * I; // two of the three tokens are back
    assertEquals(9, tb.tryAcquire(state.copy(), 0, now).remaining());
    assertTrue(tb.refund(state, d, now));
    assertEquals(allowed(0, BURST, 0), tb.tryAcquire(state, 0, now));
    assertEquals(new LimitState(now, 0, null), state);
    assertFalse(tb.tryAcquire(state, BURST + 1, now).allowed());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundOfAFullBucketDoesNothing(long origin) {
    LimitState state = new LimitState();
    Decision d = tb.tryAcquire(state, 3, origin);
    LimitState before = state.copy();
    assertFalse(tb.refund(state, d, origin + 3 * I));
    assertFalse(tb.refund(state, d, origin + 100 * SECOND));
    assertEquals(before, state);
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void refundOfDeniedEmptyOrUnknownDecisionDoesNothing(long origin) {
    LimitState state = new LimitState();
    Decision taken = tb.tryAcquire(state, 8, origin);
    LimitState before = state.copy();
    assertFalse(tb.refund(state, tb.tryAcquire(state, 3, origin), origin));
    assertFalse(tb.refund(state, tb.tryAcquire(state, 0, origin), origin));
    assertEquals(before, state);
    LimitState unused = new LimitState();
    assertFalse(tb.refund(unused, taken, origin));
    assertEquals(new LimitState(), unused);
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void ttlIsTimeUntilTheBucketIsFull(long origin) {
    assertEquals(0, tb.ttlNanos(new LimitState(), origin));
    LimitState state = new LimitState();
    Decision d = tb.tryAcquire(state, 4, origin + 5);
    assertEquals(d.resetAfterNanos(), tb.ttlNanos(state, origin + 5));
    assertEquals(4 * I - 5, tb.ttlNanos(state, origin + 10));
    assertEquals(0, tb.ttlNanos(state, origin + 5 + 4 * I));
    assertEquals(0, tb.ttlNanos(state, origin + 5 * SECOND));
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void afterTtlStoredStateDecidesLikeAFreshOne(long origin) {
    LimitState stored = new LimitState();
    tb.tryAcquire(stored, 3, origin);
    tb.tryAcquire(stored, 6, origin + I / 2);
    long now = origin + I;
    long ttl = tb.ttlNanos(stored, now);
    assertEquals(8 * I, ttl); // 3 + 6 tokens taken, one refilled
    for (long later : new long[] {now + ttl, now + ttl + 1, now + ttl + SECOND}) {
      for (long permits = 0; permits <= BURST + 1; permits++) {
        assertEquals(tb.tryAcquire(new LimitState(), permits, later),
            tb.tryAcquire(stored.copy(), permits, later), "permits " + permits);
      }
    }
    assertEquals(BURST - 1, tb.tryAcquire(stored.copy(), 0, now + ttl - 1).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void intervalIsRoundedDownSoRefillIsAtMostOnePartInIntervalFast(long origin) {
    TokenBucket seven = new TokenBucket(7, SECOND, 7);
    assertEquals(142_857_142, seven.intervalNanos());
    LimitState state = new LimitState();
    seven.tryAcquire(state, 7, origin);
    // Seven tokens come back after 7 * 142,857,142 = 999,999,994 ns, six nanoseconds early.
    assertEquals(6, seven.tryAcquire(state.copy(), 0, origin + 999_999_993).remaining());
    assertEquals(7, seven.tryAcquire(state.copy(), 0, origin + 999_999_994).remaining());
  }

  @ParameterizedTest
  @MethodSource(ORIGINS)
  void oneTokenPerNanosecondIsTheFastestRate(long origin) {
    TokenBucket fastest = new TokenBucket(1_000, 1_000, 5);
    assertEquals(1, fastest.intervalNanos());
    LimitState state = new LimitState();
    assertEquals(new Decision(true, 5, 5, 0, 5, 0), fastest.tryAcquire(state, 5, origin));
    assertEquals(new Decision(false, 1, 5, 0, 1, 0), fastest.tryAcquire(state, 1, origin));
    assertEquals(new Decision(true, 1, 5, 0, 5, 0), fastest.tryAcquire(state, 1, origin + 1));
  }

  /**
   * Runs a seeded random load against the bucket and checks every decision against an
   * independent model (a classic token bucket holding its credit in nanoseconds, refilled one
   * nanosecond per nanosecond up to {@code burst * interval}, a token costing one interval), and
   * every span of the run against the documented bound.
   */
  @ParameterizedTest
  @MethodSource("io.tollgate.limiter.algorithm.Clocks#originsWithSeeds")
  void admitsAtMostBurstPlusRefillOverAnySpan(long origin, long seed) {
    long rate = 7;
    long window = SECOND;
    long burst = 5;
    TokenBucket seven = new TokenBucket(rate, window, burst);
    long interval = seven.intervalNanos(); // 142,857,142: rounded down from 142,857,142.86
    long capacity = burst * interval;

    Random random = new Random(seed);
    LimitState state = new LimitState();
    long credit = capacity;
    long last = 0; // times are kept relative to the origin: the model must not overflow
    long rel = 0;
    long admitted = 0; // P(j): units admitted up to and including event j
    long minExact = Long.MAX_VALUE;
    long minDocumented = Long.MAX_VALUE;
    long tightest = Long.MIN_VALUE;
    int allowedCount = 0;
    int deniedCount = 0;
    for (int step = 0; step < 10_000; step++) {
      rel += random.nextInt(3) == 0 ? 0 : 1 + random.nextInt((int) (2 * interval));
      long now = origin + rel;
      long permits = random.nextInt(50) == 0 ? burst + 1 : random.nextInt(4);
      String at = "step " + step;

      credit = Math.min(capacity, credit + (rel - last));
      last = rel;
      boolean expected = permits * interval <= credit;
      Decision d = seven.tryAcquire(state, permits, now);
      assertEquals(expected, d.allowed(), at);
      if (expected) {
        credit -= permits * interval;
        assertEquals(capacity - credit, d.resetAfterNanos(), at);
      } else if (permits <= burst) {
        assertEquals(permits * interval - credit, d.resetAfterNanos(), at);
      }
      assertEquals(credit / interval, d.remaining(), at);
      assertTrue(d.remaining() >= 0 && d.remaining() <= burst, at);
      if (!expected) {
        deniedCount++;
        continue;
      }
      allowedCount++;

      // Over the span from admitted event i to admitted event j (both included), with N units in
      // it and T = t(j) - t(i):
      //   exact GCRA bound:  N <= burst + floor(T / interval), i.e. (N - burst) * interval <= T;
      //   documented bound:  N <= burst + rate * T / window + 1.
      // The +1 is the interval's rounding down: T / interval exceeds rate * T / window by
      // T * (window mod rate) / (interval * window), which stays below one token while T is
      // under interval * window / (window mod rate) ~ 2.4e16 ns here (this run lasts < 3e12 ns).
      // Both are checked for every pair i <= j at once through a running minimum over i.
      minExact = Math.min(minExact, admitted * interval - rel);
      minDocumented = Math.min(minDocumented, admitted * window - rate * rel);
      admitted += permits;
      long exactSlack = minExact - (admitted * interval - rel - burst * interval);
      assertTrue(exactSlack >= 0, at + ": a span admits more than burst + T / interval");
      assertTrue(admitted * window - rate * rel - (burst + 1) * window <= minDocumented,
          at + ": a span admits more than burst + rate * T / window + 1");
      tightest = Math.max(tightest, -exactSlack);
    }
    assertTrue(allowedCount > 3_000 && deniedCount > 1_000,
        "the load both passes and overflows the bucket: " + allowedCount + "/" + deniedCount);
    // Demand outruns the refill, so some span reaches the exact bound.
    assertEquals(0, tightest);
  }

  @Test
  void saturatingArithmeticClampsInsteadOfWrapping() {
    assertEquals(-12, TokenBucket.saturatedMultiply(-3, 4));
    assertEquals(Long.MAX_VALUE - 1, TokenBucket.saturatedMultiply(Long.MAX_VALUE / 2, 2));
    assertEquals(Long.MAX_VALUE, TokenBucket.saturatedMultiply(1L << 32, 1L << 31));
    assertEquals(Long.MIN_VALUE, TokenBucket.saturatedMultiply(-(1L << 32), 1L << 31));
    assertEquals(Long.MIN_VALUE, TokenBucket.saturatedMultiply(-(1L << 33), 1L << 31));
    assertEquals(Long.MAX_VALUE, TokenBucket.saturatedMultiply(Long.MAX_VALUE, 142_857_142));
    assertEquals(Long.MAX_VALUE, TokenBucket.saturatedMultiply(Long.MIN_VALUE, -1));
    assertEquals(Long.MAX_VALUE, TokenBucket.saturatedAdd(Long.MAX_VALUE, 1));
    assertEquals(Long.MIN_VALUE, TokenBucket.saturatedAdd(Long.MIN_VALUE, -1));
    assertEquals(-1, TokenBucket.saturatedAdd(Long.MAX_VALUE, Long.MIN_VALUE));
    assertEquals(Long.MAX_VALUE, TokenBucket.saturatedAdd(-5, Long.MAX_VALUE) + 5);
  }

  @Test
  void constructorRejectsBadArgumentsNamingThem() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new TokenBucket(0, SECOND, 1))
        .getMessage().startsWith("rate "));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new TokenBucket(-1, SECOND, 1))
        .getMessage().startsWith("rate "));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, SECOND, 0))
        .getMessage().startsWith("burst "));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, SECOND, -1))
        .getMessage().startsWith("burst "));
    assertEquals("rate 1001 per 1000 ns is above one token per nanosecond",
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1_001, 1_000, 1))
            .getMessage());
    assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, -SECOND, 1));
  }

  @Test
  void factoryBuildsATokenBucketWithRateWindowAndBurst() {
    LimitAlgorithm a = LimitAlgorithm.of(LimitAlgorithm.Kind.TOKEN_BUCKET, 10, SECOND, 25);
    TokenBucket bucket = assertInstanceOf(TokenBucket.class, a);
    assertEquals(LimitAlgorithm.Kind.TOKEN_BUCKET, a.kind());
    assertEquals(25, a.limit());
    assertEquals(10, bucket.rate());
    assertEquals(SECOND, a.windowNanos());
    assertEquals(I, bucket.intervalNanos());
    assertEquals("token_bucket", a.kind().configName());
  }
}
