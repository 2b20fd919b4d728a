package io.tollgate.limiter.decide;

import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.RateLimitRule;

/**
 * Every storage key and detailed metric name, for every level a decision counts at: a rule's
 * descriptor, and the usage-plan levels.
 *
 * <p>Every name in a key is length-prefixed ({@code 6:domain}), so that no choice of names and
 * values can make two counters share a key. A key holds no limit size, so changing a limit in the
 * config keeps the count.
 *
 * <pre>
 *   rule         N:domain N:key N:value ... tag     one per descriptor and rule
 *                N:domain N:key *N:pattern ... tag  a share_threshold pattern instead of the value
 *   account      @a                                 all plan checks
 *   stage        @s|N:api|N:stage                   all callers of the stage
 *   method       @m|N:api|N:stage|N:METHOD /route   all callers of the method
 *   plan         @p|N:plan|N:key                    each key in its plan
 *   plan method  @q|N:plan|N:key|N:api|N:stage|N:METHOD /route
 *   quota        plan/key                           each key in its plan, in the quota map
 * </pre>
 *
 * <p>A rule key starts with a digit and a plan level's with {@code @}, so the two kinds never
 * meet. The quota key is read back by the quota map's database store, which splits it at the
 * {@code /} (plan and key ids hold none).
 */
public final class LimitKeys {

  /** The account level's key: one counter for every plan check. */
  public static final String ACCOUNT = "@a";

  private LimitKeys() {}

  /**
   * The key of a rule's counter for one descriptor.
   *
   * @param keyValues per entry, a value to key by instead of the entry's own (a shared wildcard
   *     pattern); {@code null}, or {@code null} elements, for the entries' own values
   */
  public static String key(String domain, DescriptorView descriptor, RateLimitRule rule,
      String[] keyValues) {
    StringBuilder sb = new StringBuilder(64);
    append(sb, domain);
    for (int i = 0, n = descriptor.size(); i < n; i++) {
      append(sb, descriptor.key(i));
      String shared = keyValues == null ? null : keyValues[i];
      if (shared != null) {
        // A '*' cannot start a length prefix, so a shared pattern never collides with a value.
        sb.append('*');
        append(sb, shared);
      } else {
        append(sb, descriptor.value(i));
      }
    }
    return sb.append(rule.tag()).toString();
  }

  /** The stage level's key. */
  public static String stage(String api, String stage) {
    StringBuilder sb = new StringBuilder(32).append("@s");
    return level(level(sb, api), stage).toString();
  }

  /** The method level's key; {@code methodKey} is {@code "METHOD /route"}. */
  public static String method(String api, String stage, String methodKey) {
    StringBuilder sb = new StringBuilder(64).append("@m");
    return level(level(level(sb, api), stage), methodKey).toString();
  }

  /** The plan level's key: one counter per API key in its plan. */
  public static String plan(String planId, String keyId) {
    StringBuilder sb = new StringBuilder(48).append("@p");
    return level(level(sb, planId), keyId).toString();
  }

  /** The plan method level's key: per API key, per method, in its plan. */
  public static String planMethod(String planId, String keyId, String api, String stage,
      String methodKey) {
    StringBuilder sb = new StringBuilder(96).append("@q");
    level(level(sb, planId), keyId);
    return level(level(level(sb, api), stage), methodKey).toString();
  }

  /** The quota counter's key of a plan and API key: {@code planId/keyId}. */
  public static String quota(String planId, String keyId) {
    return planId + "/" + keyId;
  }

  private static void append(StringBuilder sb, String s) {
    sb.append(s.length()).append(':').append(s);
  }

  private static StringBuilder level(StringBuilder sb, String s) {
    sb.append('|');
    append(sb, s);
    return sb;
  }

  /** {@code domain.key_value.key_value}, as envoyproxy/ratelimit names detailed metrics. */
  public static String detailedStatKey(String domain, DescriptorView descriptor) {
    StringBuilder sb = new StringBuilder(domain);
    for (int i = 0, n = descriptor.size(); i < n; i++) {
      sb.append('.').append(descriptor.key(i)).append('_').append(descriptor.value(i));
    }
    return sb.toString();
  }
}
