package io.tollgate.gateway;

/**
 * A consecutive-failure circuit breaker for the limiter calls, so a dead limiter costs one
 * deadline per {@code openNanos}, not one per request.
 *
 * <p>Closed: every call goes through; {@code failureThreshold} failures in a row open it. Open:
 * calls are refused at once until {@code openNanos} have passed. Then one call at a time is let
 * through as a probe (half open): its success closes the breaker, its failure opens it again for
 * another {@code openNanos}. Thresholds are passed per call, so a config reload applies at once.
 * Time comes from the caller ({@code nowNanos}), never from a clock read here.
 */
public final class CircuitBreaker {

  /** The breaker's state, for metrics. */
  public enum State { CLOSED, OPEN, HALF_OPEN }

  // Written under the lock; volatile so that the closed state's fast paths (below) can read
  // them without it: every request asks the breaker twice, and all of them share one breaker.
  private volatile int consecutiveFailures;
  private volatile boolean open;
  private long openedAtNanos;
  private volatile boolean probeInFlight;
  private long probeStartedNanos;

  /** Whether a call may be made now; a true answer in half-open state reserves the probe. */
  public boolean tryAcquire(long nowNanos, long openNanos) {
    if (!open) {
      return true;
    }
    return tryAcquireOpen(nowNanos, openNanos);
  }

  private synchronized boolean tryAcquireOpen(long nowNanos, long openNanos) {
    if (!open) {
      return true;
    }
    if (nowNanos - openedAtNanos < openNanos || probeInFlight) {
      return false;
    }
    probeInFlight = true;
    probeStartedNanos = nowNanos;
    return true;
  }

  /** A call answered. */
  public void onSuccess() {
    if (!open && consecutiveFailures == 0 && !probeInFlight) {
      // Closed with no failure counted: nothing to reset. A failure recorded concurrently is
      // as if it came after this success, which an interleaving under the lock could give too.
      return;
    }
    reset();
  }

  /**
   * A new connection to the limiter was made: it is back (a restart, a network fault that
   * ended), so the breaker closes at once instead of waiting out its open time.
   */
  public void onReconnected() {
    reset();
  }

  private synchronized void reset() {
    consecutiveFailures = 0;
    open = false;
    probeInFlight = false;
  }

  /** A call that started just now failed (deadline, unreachable, error). */
  public synchronized void onFailure(long nowNanos, int failureThreshold) {
    onFailure(nowNanos, nowNanos, failureThreshold);
  }

  /**
   * A call made at {@code callStartNanos} failed (deadline, unreachable, error). While the
   * breaker is open, only the probe's own failure counts: a call started before the probe (a stale
   * failure that arrives late) neither reopens the breaker nor restarts its open time.
   */
  public synchronized void onFailure(long callStartNanos, long nowNanos, int failureThreshold) {
    if (open && (!probeInFlight || callStartNanos - probeStartedNanos < 0)) {
      return;
    }
    consecutiveFailures++;
    if (probeInFlight || consecutiveFailures >= failureThreshold) {
      open = true;
      openedAtNanos = nowNanos;
      probeInFlight = false;
    }
  }

  /** The current state. */
  public synchronized State state(long nowNanos, long openNanos) {
    if (!open) {
      return State.CLOSED;
    }
    return nowNanos - openedAtNanos < openNanos && !probeInFlight ? State.OPEN : State.HALF_OPEN;
  }
}
