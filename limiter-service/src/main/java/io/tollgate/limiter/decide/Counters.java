package io.tollgate.limiter.decide;

import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.store.LimitStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * An operator's view of the counters behind one descriptor: the rules it matches, as a request
 * with that descriptor would match them (the same {@link RuleMatches} and {@link LimitKeys}),
 * each counter's state, and a reset.
 *
 * <p>A read asks each counter for zero units: it reports what is left and changes nothing (no
 * state is created, no unit taken, no meter recorded). A reset forgets each counter's state in
 * the store ({@link LimitStore#reset}), so the next request sees full limits. Unlimited rules
 * have no counter and are left out.
 */
public final class Counters {

  /**
   * One counter as it stands.
   *
   * @param rule the rule's name, or its metric name when it has none
   * @param key the storage key
   * @param algorithm the algorithm's configuration name, e.g. {@code fixed_window}
   * @param limit the limit (requests per unit, or the bucket's size)
   * @param remaining units a request could take now
   * @param resetAfterNanos when the limit next grows (see {@link Decision#resetAfterNanos})
   * @param shadowMode whether the rule only counts denials
   */
  public record Counter(String rule, String key, String algorithm, long limit, long remaining,
      long resetAfterNanos, boolean shadowMode) {}

  private final Supplier<RuleSet> rules;
  private final LimitStore store;

  /**
   * @param rules the current rules
   * @param store the store requests are decided with (with its over-limit cache, if any, so a
   *     reset also forgets a denial remembered on this member)
   */
  public Counters(Supplier<RuleSet> rules, LimitStore store) {
    this.rules = Objects.requireNonNull(rules, "rules");
    this.store = Objects.requireNonNull(store, "store");
  }

  /**
   * The counters of the rules {@code descriptor} matches in {@code domain}.
   *
   * @return the counters, in rule order; empty when no rule with a limit matches
   */
  public CompletableFuture<List<Counter>> read(String domain, DescriptorView descriptor) {
    RuleMatches m = match(domain, descriptor);
    return read(m, enforced(m));
  }

  /**
   * Forgets the state of every counter {@code descriptor} matches in {@code domain}, then reads
   * them (full, unless a request took units in between).
   *
   * @return the counters after the reset; empty (and nothing reset) when no rule with a limit
   *     matches
   */
  public CompletableFuture<List<Counter>> reset(String domain, DescriptorView descriptor) {
    RuleMatches m = match(domain, descriptor);
    List<RateLimitRule> limits = enforced(m);
    CompletableFuture<?>[] resets = new CompletableFuture<?>[limits.size()];
    for (int j = 0; j < limits.size(); j++) {
      resets[j] = store.reset(m.key(0, limits.get(j))).toCompletableFuture();
    }
    return CompletableFuture.allOf(resets).thenCompose(v -> read(m, limits));
  }

  private RuleMatches match(String domain, DescriptorView descriptor) {
    RuleMatches m = new RuleMatches(domain, 1);
    m.match(0, rules.get(), descriptor);
    return m;
  }

  private static List<RateLimitRule> enforced(RuleMatches m) {
    List<RateLimitRule> out = new ArrayList<>();
    for (RateLimitRule r : m.limits(0)) {
      if (!r.unlimited()) {
        out.add(r);
      }
    }
    return out;
  }

  private CompletableFuture<List<Counter>> read(RuleMatches m, List<RateLimitRule> limits) {
    List<CompletableFuture<Counter>> reads = new ArrayList<>(limits.size());
    for (RateLimitRule rule : limits) {
      String key = m.key(0, rule);
      String name = rule.name().isEmpty() ? m.statKey(0, rule) : rule.name();
      reads.add(store.acquire(key, rule.algorithm(), 0).toCompletableFuture()
          .thenApply(d -> new Counter(name, key, rule.algorithm().kind().configName(),
              d.limit(), d.remaining(), d.resetAfterNanos(), rule.shadowMode())));
    }
    return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<Counter> out = new ArrayList<>(reads.size());
      for (CompletableFuture<Counter> r : reads) {
        out.add(r.join());
      }
      return out;
    });
  }
}
