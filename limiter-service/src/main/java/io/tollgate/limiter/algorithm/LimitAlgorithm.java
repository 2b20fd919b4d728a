package io.tollgate.limiter.algorithm;

/**
 * One limit's arithmetic. Implementations are immutable and hold only their parameters; the
 * state they act on is passed in, so one instance serves every key under a rule.
 */
public interface LimitAlgorithm {

  /** Which algorithm this is. */
  Kind kind();

  /** The limit per window, or the bucket size. */
  long limit();

  /** The window (or, for a token bucket, the refill period) in nanoseconds. */
  long windowNanos();

  /**
   * Tries to take {@code permits} units at {@code nowNanos}. A denial leaves {@code state} as a
   * reader would see it (it may reset a window that has ended, which changes nothing observable).
   *
   * @param state the key's state, updated in place
   * @param permits units to take, zero or more; zero only reports what is left
   * @throws IllegalArgumentException if {@code permits} is negative
   * @param nowNanos the current time, nanoseconds since the Unix epoch
   * @return the decision; never {@code null}
   */
  Decision tryAcquire(LimitState state, long permits, long nowNanos);

  /**
   * Gives back the units of an allowed decision, as far as they still count: units of a window
   * that has ended are not given back, and a bucket never grows past its size.
   *
   * @return whether {@code state} changed
   */
  boolean refund(LimitState state, Decision decision, long nowNanos);

  /**
   * How long the state must be kept: after this the state says no more than a new one would.
   */
  long ttlNanos(LimitState state, long nowNanos);

  /** The algorithms, in a stable order used by the stored format. */
  enum Kind {
    FIXED_WINDOW,
    TOKEN_BUCKET,
    SLIDING_WINDOW,
    /** {@link CalendarQuota}; built with its own constructor, not by {@link LimitAlgorithm#of}. */
    CALENDAR_QUOTA;

    /** The name used in configuration. */
    public String configName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * Creates the algorithm of the given kind. {@code burst} is used by the token bucket only.
   *
   * @throws IllegalArgumentException for {@link Kind#CALENDAR_QUOTA}, which needs a period, an
   *     offset and a zone: use the {@link CalendarQuota} constructor instead
   */
  static LimitAlgorithm of(Kind kind, long limit, long windowNanos, long burst) {
    return switch (kind) {
      case FIXED_WINDOW -> new FixedWindow(limit, windowNanos);
      case TOKEN_BUCKET -> new TokenBucket(limit, windowNanos, burst);
      case SLIDING_WINDOW -> new SlidingWindow(limit, windowNanos);
      case CALENDAR_QUOTA -> throw new IllegalArgumentException(
          "kind CALENDAR_QUOTA needs a period, offset and zone: use new CalendarQuota(...)");
    };
  }
}
