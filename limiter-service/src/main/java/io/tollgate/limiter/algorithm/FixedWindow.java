package io.tollgate.limiter.algorithm;

/**
 * Counts units in windows aligned to the Unix epoch: a limit of L per minute admits at most L
 * units between hh:mm:00 and hh:mm:59.999. This is envoyproxy/ratelimit's counting, so reset
 * times and remaining counts match what its users see.
 *
 * <h2>Implementation notes</h2>
 * The window start is {@code floorDiv(now, window) * window}, so negative times and times near
 * {@code Long.MIN_VALUE} fall into proper windows. The state keeps the start of the window its
 * count belongs to; a call in a later window starts again from zero. Unlike envoyproxy/ratelimit,
 * a denied call adds nothing, so callers that keep retrying do not push the count past the limit
 * and the count is exact: the units admitted in one window never exceed the limit. The known
 * weakness of fixed windows stays: up to 2L units can pass within one window length around a
 * boundary. {@link SlidingWindow} removes it.
 */
public final class FixedWindow implements LimitAlgorithm {

  private final long limit;
  private final long windowNanos;

  /**
   * @param limit units per window, zero or more
   * @param windowNanos the window length, positive
   */
  public FixedWindow(long limit, long windowNanos) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0, was " + limit);
    }
    if (windowNanos <= 0) {
      throw new IllegalArgumentException("windowNanos must be > 0, was " + windowNanos);
    }
    this.limit = limit;
    this.windowNanos = windowNanos;
  }

  @Override
  public Kind kind() {
    return Kind.FIXED_WINDOW;
  }

  @Override
  public long limit() {
    return limit;
  }

  @Override
  public long windowNanos() {
    return windowNanos;
  }

  @Override
  public Decision tryAcquire(LimitState state, long permits, long nowNanos) {
    long windowStart = Math.floorDiv(nowNanos, windowNanos) * windowNanos;
    if (state.mark != windowStart) {
      state.mark = windowStart;
      state.count = 0;
    }
    long resetAfter = windowStart + windowNanos - nowNanos;
    long available = limit - state.count;
    if (permits > available) {
      return new Decision(false, permits, limit, available, resetAfter, windowStart);
    }
    state.count += permits;
    return new Decision(true, permits, limit, available - permits, resetAfter, windowStart);
  }

  @Override
  public boolean refund(LimitState state, Decision decision, long nowNanos) {
    if (!decision.allowed() || decision.permits() == 0 || state.mark != decision.receipt()) {
      return false;
    }
    state.count = Math.max(0, state.count - decision.permits());
    return true;
  }

  @Override
  public long ttlNanos(LimitState state, long nowNanos) {
    return Math.max(0, state.mark + windowNanos - nowNanos);
  }
}
