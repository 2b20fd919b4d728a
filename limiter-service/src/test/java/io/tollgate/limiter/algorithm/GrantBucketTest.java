package io.tollgate.limiter.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GrantBucketTest {

  private static final long W = 1_000_000_000L;

  @Test
  void zeroIsDenyAll() {
    assertNull(GrantBucket.forGrant(0, W, 10));
  }

  @Test
  void bucketIsATenthAndRefillTheRest() {
    assertEquals(new GrantBucket(3, 27, W), GrantBucket.forGrant(30, W, 10));
    assertEquals(new GrantBucket(1, 1, W), GrantBucket.forGrant(2, W, 10));
    assertEquals(new GrantBucket(1, 1, 2 * W + 1), GrantBucket.forGrant(1, W, 10));
  }

  /** Simulates the bucket as Envoy runs it: never more than the grant in any span of W. */
  @Test
  void neverAdmitsMoreThanTheGrantInAnySpanOfOneWindow() {
    for (long grant = 1; grant <= 300; grant += grant < 20 ? 1 : 37) {
      GrantBucket b = GrantBucket.forGrant(grant, W, 10);
      assertTrue(b.maxAdmitted(W) <= grant, grant + ": " + b);
      // Greedy client: takes a token as soon as one is there, every millisecond, for 5 windows.
      double tokens = b.maxTokens();
      double rate = (double) b.tokensPerFill() / b.fillIntervalNanos();
      long step = 1_000_000;
      int spans = (int) (W / step);
      int[] admittedAt = new int[5 * spans];
      for (int i = 0; i < admittedAt.length; i++) {
        if (i > 0) {
          tokens = Math.min(b.maxTokens(), tokens + step * rate);
        }
        while (tokens >= 1) {
          tokens -= 1;
          admittedAt[i]++;
        }
      }
      int window = 0;
      for (int i = 0; i < admittedAt.length; i++) {
        window += admittedAt[i];
        if (i >= spans) {
          window -= admittedAt[i - spans];
        }
        assertTrue(window <= grant, "grant " + grant + ": " + window + " in a span ending at " + i);
      }
    }
  }

  @Test
  void theTightestOfTwoBucketsAdmitsNoMoreThanEitherOverAnySpan() {
    GrantBucket perSecond = GrantBucket.forGrant(9, 1_000_000_000L, 10);
    GrantBucket perDay = GrantBucket.forGrant(100_000, 86_400_000_000_000L, 10);
    GrantBucket both = GrantBucket.tightest(perSecond, perDay);
    assertEquals(both, GrantBucket.tightest(perDay, perSecond));
    for (long span : new long[] {1_000_000L, 1_000_000_000L, 60_000_000_000L,
        86_400_000_000_000L, 7 * 86_400_000_000_000L}) {
      assertTrue(both.maxAdmitted(span) <= perSecond.maxAdmitted(span), "span " + span);
      assertTrue(both.maxAdmitted(span) <= perDay.maxAdmitted(span), "span " + span);
    }
  }
}
