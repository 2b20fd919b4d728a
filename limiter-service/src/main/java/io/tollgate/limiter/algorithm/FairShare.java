package io.tollgate.limiter.algorithm;

import java.util.Arrays;

/**
 * Max-min fair division of a whole number of units among claimants (water filling).
 *
 * <p>Every claimant whose want is at most the fair level gets its want; the rest share what is left
 * equally, so no claimant can get more without taking from one that has less. Results are whole
 * units and never sum to more than the capacity: the level is rounded down, and the units the
 * rounding leaves are handed out one each to the unsatisfied claimants in index order.
 */
public final class FairShare {

  private FairShare() {}

  /**
   * Divides {@code capacity} among claimants wanting {@code wants}.
   *
   * @param capacity units to divide, zero or more
   * @param wants each claimant's want, zero or more
   * @return each claimant's units: at most its want, summing to at most {@code capacity}, and to
   *     exactly {@code min(capacity, sum of wants)}
   */
  public static long[] divide(long capacity, long[] wants) {
    if (capacity < 0) {
      throw new IllegalArgumentException("capacity " + capacity + " is negative");
    }
    int n = wants.length;
    long[] out = new long[n];
    if (n == 0) {
      return out;
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      if (wants[i] < 0) {
        throw new IllegalArgumentException("want " + wants[i] + " is negative");
      }
      order[i] = i;
    }
    // Smallest want first, ties by index, so the result does not depend on input order beyond it.
    Arrays.sort(order, (a, b) -> wants[a] != wants[b] ? Long.compare(wants[a], wants[b])
        : Integer.compare(a, b));
    long left = capacity;
    int k = 0;
    // Satisfy every claimant whose want fits under an equal split of what is left.
    while (k < n && wants[order[k]] <= left / (n - k)) {
      out[order[k]] = wants[order[k]];
      left -= wants[order[k]];
      k++;
    }
    if (k == n) {
      return out;
    }
    int rest = n - k;
    long level = left / rest;
    long extra = left - level * rest;
    // The unsatisfied ones, by index, get the level and the remainder one unit each.
    int[] unsatisfied = new int[rest];
    for (int j = 0; j < rest; j++) {
      unsatisfied[j] = order[k + j];
    }
    Arrays.sort(unsatisfied);
    for (int idx : unsatisfied) {
      long give = level + (extra > 0 ? 1 : 0);
      if (extra > 0) {
        extra--;
      }
      out[idx] = Math.min(give, wants[idx]);
    }
    return out;
  }
}
