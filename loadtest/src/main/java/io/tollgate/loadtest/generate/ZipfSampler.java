package io.tollgate.loadtest.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Zipf-distributed key indexes: index {@code k} (0-based) is drawn with probability proportional
 * to {@code 1 / (k + 1)^s}, so index 0 is the hottest key.
 *
 * <p>Implementation notes: the cumulative distribution is tabulated once (one double per key, 8 MB
 * for a million keys) and each draw is a binary search over it, so draws are exact up to double
 * rounding and cost O(log N) with no allocation. Rejection-inversion samplers avoid the table, but
 * a load generator draws from a fixed N for minutes, and the table keeps the code obviously right.
 */
public final class ZipfSampler implements KeySampler {

  private final int keys;
  private final double exponent;
  private final double[] cumulative;

  /**
   * @param keys the number of keys, at least 1
   * @param exponent {@code s}, at least 0 (0 is uniform)
   */
  public ZipfSampler(int keys, double exponent) {
    if (keys <= 0) {
      throw new IllegalArgumentException("keys must be > 0, was " + keys);
    }
    if (!(exponent >= 0) || Double.isInfinite(exponent)) {
      throw new IllegalArgumentException("exponent must be >= 0 and finite, was " + exponent);
    }
    this.keys = keys;
    this.exponent = exponent;
    this.cumulative = new double[keys];
    double sum = 0;
    for (int k = 0; k < keys; k++) {
      sum += Math.pow(k + 1, -exponent);
      cumulative[k] = sum;
    }
    for (int k = 0; k < keys; k++) {
      cumulative[k] /= sum;
    }
    cumulative[keys - 1] = 1.0;
  }

  /** The probability of index {@code k}. */
  public double probability(int k) {
    return k == 0 ? cumulative[0] : cumulative[k] - cumulative[k - 1];
  }

  @Override
  public int next(SplittableRandom random) {
    double u = random.nextDouble();
    int i = Arrays.binarySearch(cumulative, u);
    // Not found: the first index whose cumulative probability exceeds u.
    return i >= 0 ? Math.min(i + 1, keys - 1) : -i - 1;
  }

  @Override
  public int keys() {
    return keys;
  }

  @Override
  public String describe() {
    return "zipf:" + keys + ":" + exponent;
  }
}
