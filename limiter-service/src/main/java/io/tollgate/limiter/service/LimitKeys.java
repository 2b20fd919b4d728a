package io.tollgate.limiter.service;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.tollgate.limiter.rule.RateLimitRule;

/**
 * Storage keys and detailed metric names for descriptors.
 *
 * <p>A storage key holds the domain, every entry of the descriptor and the rule's tag, each
 * length-prefixed so that no choice of keys and values can make two descriptors share a counter.
 * It does not hold the limit's size, so changing a limit in the config keeps the count.
 */
public final class LimitKeys {

  private LimitKeys() {}

  /**
   * @param keyValues per entry, a value to key by instead of the entry's own (a shared wildcard
   *     pattern); {@code null}, or {@code null} elements, for the entries' own values
   */
  public static String key(String domain, RateLimitDescriptor descriptor, RateLimitRule rule,
      String[] keyValues) {
    StringBuilder sb = new StringBuilder(64);
    append(sb, domain);
    for (int i = 0, n = descriptor.getEntriesCount(); i < n; i++) {
      RateLimitDescriptor.Entry e = descriptor.getEntries(i);
      append(sb, e.getKey());
      String shared = keyValues == null ? null : keyValues[i];
      if (shared != null) {
        // A '*' cannot start a length prefix, so a shared pattern never collides with a value.
        sb.append('*');
        append(sb, shared);
      } else {
        append(sb, e.getValue());
      }
    }
    return sb.append(rule.tag()).toString();
  }

  private static void append(StringBuilder sb, String s) {
    sb.append(s.length()).append(':').append(s);
  }

  /** {@code domain.key_value.key_value}, as envoyproxy/ratelimit names detailed metrics. */
  static String detailedStatKey(String domain, RateLimitDescriptor descriptor) {
    StringBuilder sb = new StringBuilder(domain);
    for (int i = 0, n = descriptor.getEntriesCount(); i < n; i++) {
      RateLimitDescriptor.Entry e = descriptor.getEntries(i);
      sb.append('.').append(e.getKey()).append('_').append(e.getValue());
    }
    return sb.toString();
  }
}
