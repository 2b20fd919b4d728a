package io.tollgate.limiter.rule;

import java.util.Locale;

/**
 * The time units of a limit. Lengths follow envoyproxy/ratelimit: a month is 30 days and a year
 * 365 days, and windows are aligned to the Unix epoch in UTC.
 */
public enum LimitUnit {
  SECOND(1),
  MINUTE(60),
  HOUR(3_600),
  DAY(86_400),
  WEEK(7 * 86_400),
  MONTH(30 * 86_400),
  YEAR(365 * 86_400);

  private final long seconds;

  LimitUnit(long seconds) {
    this.seconds = seconds;
  }

  /** The unit's length in seconds. */
  public long seconds() {
    return seconds;
  }

  /** The unit's length in nanoseconds. */
  public long nanos() {
    return seconds * 1_000_000_000L;
  }

  /** The name used in configuration. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a unit name, ignoring case; returns {@code null} for an unknown name. */
  public static LimitUnit parse(String name) {
    for (LimitUnit unit : values()) {
      if (unit.name().equalsIgnoreCase(name)) {
        return unit;
      }
    }
    return null;
  }
}
