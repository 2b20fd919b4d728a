package io.tollgate.limiter.rule;

import io.tollgate.limiter.algorithm.LimitAlgorithm;
import java.util.List;
import java.util.Objects;

/**
 * One limit on one node of the descriptor tree: {@code requestsPerUnit} per {@code unit}, counted
 * by {@code algorithm}. A node may carry several (several {@code rate_limits}); a request passes
 * the node only if it passes every one.
 *
 * @param name the limit's name, used by {@code replaces}; empty when none
 * @param unit the time unit; {@code null} for an unlimited rule
 * @param requestsPerUnit the limit per unit (for a token bucket, the refill per unit)
 * @param algorithm the counting algorithm; {@code null} for an unlimited rule
 * @param unlimited whether the descriptor is explicitly exempt from limits
 * @param shadowMode whether a denial is only counted and reported as OK
 * @param quotaMode whether a denial makes the request OVER_LIMIT only when every quota-mode
 *     descriptor of the request is over (envoyproxy/ratelimit's {@code quota_mode})
 * @param detailedMetric whether metrics carry the request's descriptor values
 * @param replaces names of other limits this one replaces in the same request
 * @param statKey the bounded metric name, {@code domain.key_value.key...} as in the config
 * @param tag distinguishes several limits on one descriptor in their storage keys
 */
public record RateLimitRule(
    String name,
    LimitUnit unit,
    long requestsPerUnit,
    LimitAlgorithm algorithm,
    boolean unlimited,
    boolean shadowMode,
    boolean quotaMode,
    boolean detailedMetric,
    List<String> replaces,
    String statKey,
    String tag) {

  public RateLimitRule {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(replaces, "replaces");
    Objects.requireNonNull(statKey, "statKey");
    Objects.requireNonNull(tag, "tag");
    replaces = List.copyOf(replaces);
    if (!unlimited) {
      Objects.requireNonNull(unit, "unit");
      Objects.requireNonNull(algorithm, "algorithm");
    }
  }

  /**
   * A limit asked for by the request itself (the descriptor's {@code limit} override): a fixed
   * window, not in shadow mode, as envoyproxy/ratelimit applies it. Its counter depends on the
   * descriptor and the unit only, so a caller that changes the size keeps its count.
   */
  public static RateLimitRule override(long requestsPerUnit, LimitUnit unit, String statKey) {
    return new RateLimitRule("", unit, requestsPerUnit,
        LimitAlgorithm.of(LimitAlgorithm.Kind.FIXED_WINDOW, requestsPerUnit, unit.nanos(), 0),
        false, false, false, false, List.of(), statKey, "o" + unit.seconds());
  }
}
