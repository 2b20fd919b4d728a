package io.tollgate.limiter.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The counters of one rule, as envoyproxy/ratelimit keeps them: units asked for, over the limit,
 * near it, within it, and over it but let through by shadow mode.
 */
public final class RuleStats {

  final Counter totalHits;
  final Counter overLimit;
  final Counter nearLimit;
  final Counter withinLimit;
  final Counter shadowMode;

  RuleStats(MeterRegistry registry, String rule) {
    totalHits = counter(registry, "ratelimit.total_hits", rule, "Units asked for");
    overLimit = counter(registry, "ratelimit.over_limit", rule, "Units denied (or shadowed)");
    nearLimit = counter(registry, "ratelimit.near_limit", rule,
        "Units allowed above the near-limit ratio of the limit");
    withinLimit = counter(registry, "ratelimit.within_limit", rule, "Units allowed");
    shadowMode = counter(registry, "ratelimit.shadow_mode", rule,
        "Units over the limit but allowed by shadow mode");
  }

  private static Counter counter(MeterRegistry registry, String name, String rule, String help) {
    return Counter.builder(name).description(help).tag("rule", rule).register(registry);
  }

  /**
   * Records one decision of this rule.
   *
   * @param permits units asked for
   * @param allowed whether the units were granted
   * @param shadowed whether a denial was let through by shadow mode
   * @param usedAfter units in use after the decision
   * @param nearThreshold units in use above which hits are near the limit
   */
  public void record(long permits, boolean allowed, boolean shadowed, long usedAfter,
      long nearThreshold) {
    totalHits.increment(permits);
    if (allowed) {
      withinLimit.increment(permits);
      if (usedAfter > nearThreshold) {
        long before = usedAfter - permits;
        nearLimit.increment(usedAfter - Math.max(nearThreshold, before));
      }
    } else {
      overLimit.increment(permits);
      if (shadowed) {
        shadowMode.increment(permits);
      }
    }
  }
}
