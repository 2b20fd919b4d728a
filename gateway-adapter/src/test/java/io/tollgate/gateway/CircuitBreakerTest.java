package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CircuitBreakerTest {

  static final long OPEN = 5_000_000_000L;

  @Test
  void opensAfterConsecutiveFailuresAndProbesOnceAfterTheOpenTime() {
    for (long origin : new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE - 20 * OPEN}) {
      CircuitBreaker b = new CircuitBreaker();
      long t = origin;
      b.onFailure(t, 3);
      b.onFailure(t, 3);
      assertTrue(b.tryAcquire(t, OPEN));
      b.onFailure(t, 3);
      assertEquals(CircuitBreaker.State.OPEN, b.state(t, OPEN));
      assertFalse(b.tryAcquire(t + OPEN - 1, OPEN));
      assertTrue(b.tryAcquire(t + OPEN, OPEN), "one probe");
      assertFalse(b.tryAcquire(t + OPEN, OPEN), "only one probe at a time");
      b.onFailure(t + OPEN, 3);
      assertFalse(b.tryAcquire(t + 2 * OPEN - 1, OPEN), "a failed probe opens it again");
      assertTrue(b.tryAcquire(t + 2 * OPEN, OPEN));
      b.onSuccess();
      assertEquals(CircuitBreaker.State.CLOSED, b.state(t + 2 * OPEN, OPEN));
      assertTrue(b.tryAcquire(t + 2 * OPEN, OPEN));
    }
  }

  @Test
  void aSuccessResetsTheCount() {
    CircuitBreaker b = new CircuitBreaker();
    b.onFailure(0, 2);
    b.onSuccess();
    b.onFailure(0, 2);
    assertTrue(b.tryAcquire(0, OPEN));
  }

  @Test
  void aStaleFailureDuringTheProbeDoesNotReopenIt() {
    CircuitBreaker b = new CircuitBreaker();
    long slowCallStart = 0;
    b.onFailure(1, 1);
    assertTrue(b.tryAcquire(1 + OPEN, OPEN), "the probe");
    // A call started before the breaker opened fails late, while the probe is out.
    b.onFailure(slowCallStart, 2 + OPEN, 1);
    assertEquals(CircuitBreaker.State.HALF_OPEN, b.state(2 + OPEN, OPEN));
    b.onSuccess();
    assertEquals(CircuitBreaker.State.CLOSED, b.state(3 + OPEN, OPEN));
  }

  @Test
  void aNewConnectionClosesAnOpenBreakerAtOnce() {
    CircuitBreaker b = new CircuitBreaker();
    for (int i = 0; i < 3; i++) {
      b.onFailure(0, 3);
    }
    assertFalse(b.tryAcquire(1, OPEN));
    b.onReconnected();
    assertEquals(CircuitBreaker.State.CLOSED, b.state(1, OPEN));
    assertTrue(b.tryAcquire(1, OPEN));
  }
}
