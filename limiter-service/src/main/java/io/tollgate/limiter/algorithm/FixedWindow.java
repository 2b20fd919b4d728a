package io.tollgate.limiter.algorithm;

/**
 * Counts units in windows aligned to the Unix epoch: a limit of L per minute admits at most L
 * units between hh:mm:00 and hh:mm:59.999. This is envoyproxy/ratelimit's counting, so reset
 * times and remaining counts match what its users see.
 *
 * <h2>Implementation notes</h2>
 * The window index is {@code floorDiv(now, window)}, so negative times and times near
 * {@code Long.MIN_VALUE} fall into proper windows with no overflow. The state keeps the index of
 * the window its count belongs to (the decision's receipt); a call in a later window starts again
 * from zero. Unlike envoyproxy/ratelimit,
 * a denied call adds nothing, so callers that keep retrying do not push the count past the limit
 * and the count is exact: the units admitted in one window never exceed the limit. The known
 * weakness of fixed windows stays: up to 2L units can pass within one window length around a
 * boundary. {@link SlidingWindow} removes it.
 *
 * <p>A clock that steps back into an earlier window (members' clocks differ by a little) keeps
 * counting in the newer window it has already seen, so clock skew cannot reset a count.
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
    if (permits < 0) {
      throw new IllegalArgumentException("permits must be >= 0, was " + permits);
    }
    long index = Math.floorDiv(nowNanos, windowNanos);
    if (state.mark == LimitState.UNSET || index > state.mark) {
      state.mark = index;
      state.count = 0;
    }
    long resetAfter = untilWindowEnd(state.mark, nowNanos);
    long available = limit - state.count;
    if (permits > available) {
      return new Decision(false, permits, limit, available, resetAfter, state.mark);
    }
    state.count += permits;
    return new Decision(true, permits, limit, available - permits, resetAfter, state.mark);
  }

  @Override
  public boolean refund(LimitState state, Decision decision, long nowNanos) {
    if (!decision.allowed() || decision.permits() == 0 || state.mark != decision.receipt()
        || Math.floorDiv(nowNanos, windowNanos) > state.mark) {
      return false;
    }
    state.count = Math.max(0, state.count - decision.permits());
    return true;
  }

  @Override
  public long ttlNanos(LimitState state, long nowNanos) {
    if (state.mark == LimitState.UNSET || Math.floorDiv(nowNanos, windowNanos) > state.mark) {
      return 0;
    }
    return untilWindowEnd(state.mark, nowNanos);
  }

  /** Time from {@code nowNanos} to the end of window {@code index}, which is not in the past. */
  private long untilWindowEnd(long index, long nowNanos) {
    long windowsAhead = index - Math.floorDiv(nowNanos, windowNanos);
    long rest = windowNanos - Math.floorMod(nowNanos, windowNanos);
    return TokenBucket.saturatedAdd(TokenBucket.saturatedMultiply(windowsAhead, windowNanos), rest);
  }
}
