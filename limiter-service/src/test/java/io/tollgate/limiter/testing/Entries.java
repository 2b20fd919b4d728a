package io.tollgate.limiter.testing;

import io.tollgate.limiter.rule.DescriptorView;

/** A descriptor for rule matching, from alternating keys and values. */
public record Entries(String... kv) implements DescriptorView {

  /** A descriptor from key, value pairs. */
  public static Entries of(String... keysAndValues) {
    return new Entries(keysAndValues);
  }

  @Override
  public int size() {
    return kv.length / 2;
  }

  @Override
  public String key(int i) {
    return kv[2 * i];
  }

  @Override
  public String value(int i) {
    return kv[2 * i + 1];
  }
}
