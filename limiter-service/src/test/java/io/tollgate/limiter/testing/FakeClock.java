package io.tollgate.limiter.testing;

import io.tollgate.limiter.algorithm.WallClock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** A clock the test moves by hand. Thread-safe. */
public final class FakeClock implements WallClock {

  /** 2026-11-27T12:00:00.250Z: inside a second, a minute and a day, away from their edges. */
  public static final long DEFAULT_START = 1_795_780_800_250_000_000L;

  private final AtomicLong nanos;

  public FakeClock() {
    this(DEFAULT_START);
  }

  public FakeClock(long startNanos) {
    this.nanos = new AtomicLong(startNanos);
  }

  @Override
  public long epochNanos() {
    return nanos.get();
  }

  /** Moves the clock forward. */
  public void advance(long amount, TimeUnit unit) {
    nanos.addAndGet(unit.toNanos(amount));
  }

  /** Sets the clock. */
  public void set(long epochNanos) {
    nanos.set(epochNanos);
  }
}
