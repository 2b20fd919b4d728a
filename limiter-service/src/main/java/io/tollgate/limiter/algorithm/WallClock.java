package io.tollgate.limiter.algorithm;

import java.time.Instant;

/**
 * The time source for limit decisions: nanoseconds since the Unix epoch.
 *
 * <p>It is a wall clock rather than {@link System#nanoTime()} because the state of one limit is
 * read and written by whichever member owns its partition, and {@code nanoTime} values do not
 * compare across JVMs. Tests pass their own implementation.
 */
@FunctionalInterface
public interface WallClock {

  /** The system clock. */
  WallClock SYSTEM = () -> {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  };

  /** Returns the current time in nanoseconds since the Unix epoch. */
  long epochNanos();
}
