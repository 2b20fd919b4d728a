package io.tollgate.limiter.algorithm;

import static org.junit.jupiter.api.Named.named;

import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Clock origins the algorithm tests run from. The algorithms take times as plain {@code long}
 * epoch nanos, so a test starts at an origin and only ever moves forward from it by at most
 * {@link #HEADROOM}; every origin leaves that much room below {@code Long.MAX_VALUE}, so test
 * arithmetic ({@code origin + offset}) never overflows, while the algorithms' own arithmetic
 * (window starts, slot indexes, theoretical arrival times) runs near the extremes.
 */
final class Clocks {

  static final long SECOND = 1_000_000_000L;
  static final long MINUTE = 60 * SECOND;
  static final long DAY = 86_400 * SECOND;
  static final long YEAR = 365 * DAY;

  /**
   * How far past its origin a test may go: 2^44 ns, about 4.9 hours, a few windows of the
   * longest window the tests use (an hour) and thousands of the usual one-second ones.
   */
  static final long HEADROOM = 1L << 44;

  /** 2026-01-01T00:00:00Z in epoch nanos. */
  static final long Y2026 = 1_767_225_600L * SECOND;

  /** The origins, also as a plain array for loops. */
  static final long[] CLOCKS = {
    Long.MIN_VALUE + HEADROOM,
    Long.MIN_VALUE / 2,
    Math.floorDiv(Long.MIN_VALUE / 2, DAY) * DAY,
    -1_000 * DAY - 123_456_789,
    -1,
    0,
    Y2026,
    Y2026 + SECOND - 1,
    Long.MAX_VALUE - HEADROOM,
  };

  private static final String[] NAMES = {
    "MIN_VALUE + headroom (first partial second not aligned)",
    "MIN_VALUE / 2 (-2^62, aligned to powers of two only)",
    "MIN_VALUE / 2 floored to a whole day",
    "1967, unaligned",
    "-1 ns (just before the epoch)",
    "epoch",
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00.999999999Z",
    "MAX_VALUE - headroom",
  };

  private Clocks() {}

  /** The origins, named, for {@code @MethodSource}. */
  static Stream<Arguments> origins() {
    Stream.Builder<Arguments> b = Stream.builder();
    for (int i = 0; i < CLOCKS.length; i++) {
      b.add(Arguments.of(named(NAMES[i], CLOCKS[i])));
    }
    return b.build();
  }

  /**
   * Each origin with a fixed seed of its own, for seeded random runs that should differ between
   * origins but never between builds.
   */
  static Stream<Arguments> originsWithSeeds() {
    Stream.Builder<Arguments> b = Stream.builder();
    for (int i = 0; i < CLOCKS.length; i++) {
      b.add(Arguments.of(named(NAMES[i], CLOCKS[i]), 0x7011_0000L + 31L * i));
    }
    return b.build();
  }

  /** The first multiple of {@code window} at or after {@code t}. */
  static long alignUp(long t, long window) {
    long r = Math.floorMod(t, window);
    return r == 0 ? t : t + (window - r);
  }
}
