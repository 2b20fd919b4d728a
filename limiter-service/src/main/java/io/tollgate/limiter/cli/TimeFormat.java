package io.tollgate.limiter.cli;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** How the commands print times, durations and rates. */
final class TimeFormat {

  private TimeFormat() {}

  /** ISO-8601 in UTC to the second, e.g. {@code 2026-11-27T12:00:00Z}; "-" when unset. */
  static String instant(Timestamp t) {
    if (t == null || (t.getSeconds() == 0 && t.getNanos() == 0)) {
      return "-";
    }
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).truncatedTo(ChronoUnit.SECONDS)
        .toString();
  }

  /**
   * A duration for people: {@code 0.25s}, {@code 42s}, {@code 3m05s}, {@code 2h00m10s},
   * {@code 6d04h00m}.
   */
  static String duration(Duration d) {
    long millis = d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
    if (millis < 60_000) {
      return decimal(millis / 1000.0) + "s";
    }
    long s = millis / 1000;
    long days = s / 86_400;
    long hours = s % 86_400 / 3600;
    long minutes = s % 3600 / 60;
    long seconds = s % 60;
    if (days > 0) {
      return String.format("%dd%02dh%02dm", days, hours, minutes);
    }
    if (hours > 0) {
      return String.format("%dh%02dm%02ds", hours, minutes, seconds);
    }
    return String.format("%dm%02ds", minutes, seconds);
  }

  /** A number without a needless fraction: 5.0 is {@code 5}, 0.5 is {@code 0.5}. */
  static String decimal(double value) {
    return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }
}
