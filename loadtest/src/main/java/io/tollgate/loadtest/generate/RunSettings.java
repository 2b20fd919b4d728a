package io.tollgate.loadtest.generate;

/**
 * What one run does.
 *
 * @param openLoop true for a fixed arrival rate, false for {@code concurrency} calls in flight
 * @param ratePerSecond the arrival rate of an open-loop run
 * @param concurrency calls in flight in a closed-loop run
 * @param maxInFlight open loop: sends wait (and their latency grows) while this many are open
 * @param warmupSeconds seconds run but not measured
 * @param measureSeconds seconds measured
 * @param descriptors descriptors (key indexes) per request
 * @param keys the key distribution
 * @param seed the random seed of the key draws
 */
public record RunSettings(boolean openLoop, double ratePerSecond, int concurrency, int maxInFlight,
    int warmupSeconds, int measureSeconds, int descriptors, KeySampler keys, long seed) {

  public RunSettings {
    if (openLoop && !(ratePerSecond > 0)) {
      throw new IllegalArgumentException("rate must be > 0 in open loop, was " + ratePerSecond);
    }
    if (!openLoop && concurrency <= 0) {
      throw new IllegalArgumentException("concurrency must be > 0, was " + concurrency);
    }
    if (maxInFlight <= 0) {
      throw new IllegalArgumentException("maxInFlight must be > 0, was " + maxInFlight);
    }
    if (warmupSeconds < 0 || measureSeconds <= 0) {
      throw new IllegalArgumentException("warmup must be >= 0 and measure > 0 seconds, were "
          + warmupSeconds + " and " + measureSeconds);
    }
    if (descriptors <= 0) {
      throw new IllegalArgumentException("descriptors must be > 0, was " + descriptors);
    }
  }

  public String mode() {
    return openLoop ? "open" : "closed";
  }
}
