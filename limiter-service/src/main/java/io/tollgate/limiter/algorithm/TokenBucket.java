package io.tollgate.limiter.algorithm;

/**
 * A token bucket of {@code burst} tokens that refills at {@code rate} tokens per window, kept as
 * one number: the generic cell rate algorithm's theoretical arrival time (TAT).
 *
 * <h2>Implementation notes</h2>
 * Each token "costs" {@code interval = windowNanos / rate} nanoseconds. The bucket is full when
 * {@code tat <= now}; it holds {@code (now + burst * interval - tat) / interval} tokens otherwise.
 * Taking n tokens moves {@code tat' = max(tat, now) + n * interval}, and is allowed when
 * {@code tat' - now <= burst * interval}. One long of state, no floating point, no refill loop.
 *
 * <p>The interval is rounded down to whole nanoseconds, so the refill rate is at most one part in
 * {@code interval} faster than configured (for 7 per second, 1 part in 142,857,142). A rate above
 * one token per nanosecond is rejected. Products that would overflow saturate at
 * {@code Long.MAX_VALUE}, which can only make the bucket look emptier, never fuller.
 *
 * <p>Over any span T the bucket admits at most {@code burst + floor(T / interval)} tokens, which is
 * at most {@code burst + rate * T / window + 1} (the +1 from rounding the interval down).
 */
public final class TokenBucket implements LimitAlgorithm {

  private final long rate;
  private final long windowNanos;
  private final long burst;
  private final long intervalNanos;
  private final long capacityNanos;

  /**
   * @param rate tokens added per window, positive
   * @param windowNanos the refill window, positive
   * @param burst the bucket size, positive; the configured default is {@code rate}
   */
  public TokenBucket(long rate, long windowNanos, long burst) {
    if (rate <= 0) {
      throw new IllegalArgumentException("rate must be > 0, was " + rate);
    }
    if (windowNanos <= 0) {
      throw new IllegalArgumentException("windowNanos must be > 0, was " + windowNanos);
    }
    if (burst <= 0) {
      throw new IllegalArgumentException("burst must be > 0, was " + burst);
    }
    if (windowNanos < rate) {
      throw new IllegalArgumentException(
          "rate " + rate + " per " + windowNanos + " ns is above one token per nanosecond");
    }
    this.rate = rate;
    this.windowNanos = windowNanos;
    this.burst = burst;
    this.intervalNanos = windowNanos / rate;
    this.capacityNanos = saturatedMultiply(burst, intervalNanos);
  }

  @Override
  public Kind kind() {
    return Kind.TOKEN_BUCKET;
  }

  /** The bucket size. */
  @Override
  public long limit() {
    return burst;
  }

  @Override
  public long windowNanos() {
    return windowNanos;
  }

  /** Tokens added per window. */
  public long rate() {
    return rate;
  }

  /** Nanoseconds per token. */
  public long intervalNanos() {
    return intervalNanos;
  }

  @Override
  public Decision tryAcquire(LimitState state, long permits, long nowNanos) {
    if (permits < 0) {
      throw new IllegalArgumentException("permits must be >= 0, was " + permits);
    }
    long tat = state.mark == LimitState.UNSET ? nowNanos : Math.max(state.mark, nowNanos);
    long cost = saturatedMultiply(permits, intervalNanos);
    long newTat = saturatedAdd(tat, cost);
    // Time until the bucket is full again after this take. Summed from tat - now (>= 0) rather
    // than taken as newTat - now: with a negative clock newTat need not saturate, and
    // newTat - now could wrap negative or equal a saturated cost.
    long debt = saturatedAdd(tat - nowNanos, cost);
    if (debt > capacityNanos || debt == Long.MAX_VALUE || newTat == Long.MAX_VALUE) {
      long available = tokensAt(tat, nowNanos);
      long retryAfter = permits > burst
          ? saturatedAdd(tat - nowNanos, capacityNanos) : debt - capacityNanos;
      return new Decision(false, permits, burst, available, retryAfter, 0);
    }
    state.mark = newTat;
    return new Decision(true, permits, burst, tokensAt(newTat, nowNanos), debt, 0);
  }

  @Override
  public boolean refund(LimitState state, Decision decision, long nowNanos) {
    if (!decision.allowed() || decision.permits() == 0 || state.mark == LimitState.UNSET) {
      return false;
    }
    long back = saturatedMultiply(decision.permits(), intervalNanos);
    long tat = Math.max(state.mark - back, nowNanos);
    if (tat >= state.mark) {
      return false;
    }
    state.mark = tat;
    return true;
  }

  @Override
  public long ttlNanos(LimitState state, long nowNanos) {
    return state.mark == LimitState.UNSET ? 0 : Math.max(0, state.mark - nowNanos);
  }

  private long tokensAt(long tat, long nowNanos) {
    long debt = Math.max(0, tat - nowNanos);
    if (debt >= capacityNanos) {
      return 0;
    }
    return Math.min(burst, (capacityNanos - debt) / intervalNanos);
  }

  static long saturatedMultiply(long a, long b) {
    long high = Math.multiplyHigh(a, b);
    long low = a * b;
    if ((high == 0 && low >= 0) || (high == -1 && low < 0)) {
      return low;
    }
    return (a ^ b) < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
  }

  static long saturatedAdd(long a, long b) {
    long r = a + b;
    if (((a ^ r) & (b ^ r)) < 0) {
      return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
    return r;
  }
}
