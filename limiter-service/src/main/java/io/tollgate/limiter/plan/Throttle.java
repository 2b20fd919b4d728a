package io.tollgate.limiter.plan;

/**
 * A token bucket: {@code rate} requests per second refill a bucket of {@code burst}.
 *
 * @param rate requests per second, positive, at most three decimals
 * @param burst the bucket size, positive
 */
public record Throttle(double rate, long burst) {

  /** Whether this throttle admits no more than {@code other}, in rate and in burst. */
  public boolean within(Throttle other) {
    return rate <= other.rate && burst <= other.burst;
  }
}
