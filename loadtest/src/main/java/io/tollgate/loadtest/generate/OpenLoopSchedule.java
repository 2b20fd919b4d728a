package io.tollgate.loadtest.generate;

/**
 * The intended send times of an open-loop run: request {@code i} is due at
 * {@code start + floor(i * 1e9 / rate)} nanoseconds, whatever happened to the requests before it.
 * Latency is measured from this intended time, not from when the request actually left, so a
 * server that stalls is charged for every request that should have been sent during the stall
 * (the coordinated-omission correction).
 *
 * <p>Times are computed from the index rather than by adding a period per request, so rounding
 * never accumulates: after a million requests at 3 per second the schedule is still exact.
 */
public final class OpenLoopSchedule {

  private final long startNanos;
  private final double ratePerSecond;

  /**
   * @param startNanos the intended send time of request 0, on the {@link System#nanoTime} scale
   * @param ratePerSecond requests per second, > 0
   */
  public OpenLoopSchedule(long startNanos, double ratePerSecond) {
    if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
      throw new IllegalArgumentException("ratePerSecond must be > 0 and finite, was " + ratePerSecond);
    }
    this.startNanos = startNanos;
    this.ratePerSecond = ratePerSecond;
  }

  /** When request {@code index} (from 0) should be sent. */
  public long intendedNanos(long index) {
    if (index < 0) {
      throw new IllegalArgumentException("index must be >= 0, was " + index);
    }
    return startNanos + (long) Math.floor(index * 1e9 / ratePerSecond);
  }

  /**
   * How many requests are due by {@code nowNanos} (those with an intended time at or before it).
   */
  public long dueBy(long nowNanos) {
    if (nowNanos < startNanos) {
      return 0;
    }
    long n = (long) Math.floor((nowNanos - startNanos) * ratePerSecond / 1e9) + 1;
    // Correct double rounding at the edges so that dueBy and intendedNanos always agree.
    while (n > 0 && intendedNanos(n - 1) > nowNanos) {
      n--;
    }
    while (intendedNanos(n) <= nowNanos) {
      n++;
    }
    return n;
  }

  public long startNanos() {
    return startNanos;
  }

  public double ratePerSecond() {
    return ratePerSecond;
  }
}
