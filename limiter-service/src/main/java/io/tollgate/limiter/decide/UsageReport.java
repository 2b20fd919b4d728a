package io.tollgate.limiter.decide;

import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.metrics.RuleStats;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.store.LimitStore;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Usage that proxies already admitted on their own (RLQS reports), taken from the same counters
 * and recorded in the same meters as decided requests. Nothing is denied or handed back: the
 * requests are past. A counter that holds less than was reported gives what it has.
 *
 * <p>Units the proxies denied are recorded as over the limit, and taken from no counter.
 */
public final class UsageReport extends Evaluation<Void> {

  /**
   * Takes {@code allowed} units from every enforced limit of one matched descriptor, and records
   * {@code denied} units as over the limit.
   *
   * @param matches the match of one descriptor (at index 0)
   * @return completes once every counter answered; a store failure is counted, never thrown
   */
  public static CompletableFuture<Void> report(RuleMatches matches, LimitStore store,
      LimiterMetrics metrics, double nearLimitRatio, long allowed, long denied) {
    UsageReport r = new UsageReport(metrics, nearLimitRatio);
    var limits = matches.limits(0);
    r.calls(limits.size());
    for (int j = 0; j < limits.size(); j++) {
      RateLimitRule rule = limits.get(j);
      if (rule.unlimited()) {
        continue;
      }
      RuleStats stats = metrics.ruleStats(matches.statKey(0, rule));
      if (denied > 0) {
        stats.record(denied, false, false, 0, 0);
      }
      if (allowed > 0) {
        r.call(store, matches.key(0, rule), rule.algorithm(), allowed, stats, false);
      }
    }
    return r.start().exceptionally(e -> null);
  }

  private UsageReport(LimiterMetrics metrics, double nearLimitRatio) {
    super(metrics, nearLimitRatio);
  }

  @Override
  boolean independent() {
    return true;
  }

  @Override
  CompletionStage<Decision> acquire(int k) {
    return super.acquire(k).thenCompose(d -> {
      if (d.allowed() || d.remaining() <= 0) {
        return CompletableFuture.completedFuture(d);
      }
      // The proxies admitted more than the counter holds: take what is left.
      return store(k).acquire(key(k), algorithm(k), d.remaining());
    });
  }

  @Override
  void record(RuleStats s, int k, Decision d, long nearThreshold) {
    // Every reported unit was admitted by a proxy, whatever the counter had left.
    s.record(permitsOf(k), true, false, d.used(), nearThreshold);
  }

  @Override
  protected boolean denied() {
    return false;
  }

  @Override
  protected Void answer() {
    return null;
  }
}
