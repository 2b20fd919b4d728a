package io.tollgate.loadtest.generate;

import java.util.SplittableRandom;

/**
 * Picks the key index of each descriptor of a request: uniform over N keys, Zipf over N keys, or
 * one key for everything (the account-level worst case). Samplers are immutable and thread-safe;
 * each caller brings its own random source.
 */
public interface KeySampler {

  /** A key index in {@code [0, keys())}. */
  int next(SplittableRandom random);

  /** How many distinct keys this sampler can return. */
  int keys();

  /** The spelling used on the command line and in reports, e.g. {@code zipf:100000:1.1}. */
  String describe();

  /**
   * Parses {@code uniform:N}, {@code zipf:N:S}, {@code single} or {@code sequential:N}.
   *
   * @throws IllegalArgumentException naming the bad part
   */
  static KeySampler parse(String spec) {
    String[] parts = spec.split(":");
    switch (parts[0]) {
      case "single":
        if (parts.length != 1) {
          throw new IllegalArgumentException("keys: 'single' takes no arguments, was '" + spec + "'");
        }
        return new Single();
      case "uniform":
        if (parts.length != 2) {
          throw new IllegalArgumentException("keys: expected uniform:N, was '" + spec + "'");
        }
        return new Uniform(positive(parts[1], spec));
      case "sequential":
        if (parts.length != 2) {
          throw new IllegalArgumentException("keys: expected sequential:N, was '" + spec + "'");
        }
        return new Sequential(positive(parts[1], spec));
      case "zipf":
        if (parts.length != 3) {
          throw new IllegalArgumentException("keys: expected zipf:N:S, was '" + spec + "'");
        }
        return new ZipfSampler(positive(parts[1], spec), Double.parseDouble(parts[2]));
      default:
        throw new IllegalArgumentException(
            "keys: unknown distribution '" + parts[0]
                + "' (expected uniform:N, zipf:N:S, single or sequential:N)");
    }
  }

  private static int positive(String n, String spec) {
    int value = Integer.parseInt(n.replace("_", ""));
    if (value <= 0) {
      throw new IllegalArgumentException("keys: N must be > 0 in '" + spec + "'");
    }
    return value;
  }

  /** Every index with the same probability. */
  record Uniform(int keys) implements KeySampler {
    @Override
    public int next(SplittableRandom random) {
      return random.nextInt(keys);
    }

    @Override
    public String describe() {
      return "uniform:" + keys;
    }
  }

  /**
   * 0, 1, 2, ... N-1, then again from 0, shared by every caller: N requests touch every key once
   * (to fill a store with N active keys, e.g. for a memory measurement).
   */
  final class Sequential implements KeySampler {
    private final int keys;
    private final java.util.concurrent.atomic.AtomicLong next =
        new java.util.concurrent.atomic.AtomicLong();

    public Sequential(int keys) {
      this.keys = keys;
    }

    @Override
    public int next(SplittableRandom random) {
      return (int) (next.getAndIncrement() % keys);
    }

    @Override
    public int keys() {
      return keys;
    }

    @Override
    public String describe() {
      return "sequential:" + keys;
    }
  }

  /** Always index 0. */
  record Single() implements KeySampler {
    @Override
    public int next(SplittableRandom random) {
      return 0;
    }

    @Override
    public int keys() {
      return 1;
    }

    @Override
    public String describe() {
      return "single";
    }
  }
}
