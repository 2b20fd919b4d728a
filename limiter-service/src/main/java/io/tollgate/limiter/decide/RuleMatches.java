package io.tollgate.limiter.decide;

import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RuleSet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The rules that apply to each descriptor of one request, and the names their counters and
 * meters go by: the match every protocol makes before acquiring.
 *
 * <p>A descriptor is matched in memory against its domain's tree ({@link RuleSet#match}); in a
 * domain with {@code value_to_metric} or {@code share_threshold} nodes also the counter's key
 * values and the metric name ({@link RuleSet#matchPath}). {@link #applyReplaces()} then drops the
 * limits other limits of the request replace, as envoyproxy/ratelimit does.
 */
public final class RuleMatches {

  private final String domain;
  private final DescriptorView[] descriptors;
  private final List<RateLimitRule>[] limits;
  /** Per descriptor, set only in value_to_metric / share_threshold domains. */
  private String[][] keyValues;
  private String[] statKeys;
  private String[] detailedStatKeys;

  /** Room for {@code n} descriptors of {@code domain}. */
  @SuppressWarnings("unchecked")
  public RuleMatches(String domain, int n) {
    this.domain = domain;
    this.descriptors = new DescriptorView[n];
    this.limits = new List[n];
  }

  /** The domain. */
  public String domain() {
    return domain;
  }

  /** Descriptors room was made for. */
  public int size() {
    return limits.length;
  }

  /** Matches descriptor {@code i} against the rules. */
  public void match(int i, RuleSet ruleSet, DescriptorView descriptor) {
    descriptors[i] = descriptor;
    if (ruleSet.usesPathFeatures(domain)) {
      RuleSet.PathMatch m = ruleSet.matchPath(domain, descriptor);
      if (keyValues == null) {
        keyValues = new String[limits.length][];
        statKeys = new String[limits.length];
        detailedStatKeys = new String[limits.length];
      }
      limits[i] = m.limits();
      keyValues[i] = m.keyValues();
      statKeys[i] = m.statKey();
      detailedStatKeys[i] = m.detailedStatKey();
    } else {
      limits[i] = ruleSet.match(domain, descriptor);
    }
  }

  /** Sets descriptor {@code i}'s limits without matching (a limit the request itself asks for). */
  public void set(int i, DescriptorView descriptor, List<RateLimitRule> rules) {
    descriptors[i] = descriptor;
    limits[i] = rules;
  }

  /**
   * Drops the limits named by another matched limit's {@code replaces}. As in
   * envoyproxy/ratelimit, an unlimited rule stays even when replaced.
   */
  public void applyReplaces() {
    Set<String> replaced = null;
    for (List<RateLimitRule> rules : limits) {
      for (int j = 0; j < rules.size(); j++) {
        List<String> r = rules.get(j).replaces();
        if (!r.isEmpty()) {
          if (replaced == null) {
            replaced = new HashSet<>();
          }
          replaced.addAll(r);
        }
      }
    }
    if (replaced == null) {
      return;
    }
    for (int i = 0; i < limits.length; i++) {
      List<RateLimitRule> kept = new ArrayList<>(limits[i].size());
      for (RateLimitRule rule : limits[i]) {
        if (rule.unlimited() || rule.name().isEmpty() || !replaced.contains(rule.name())) {
          kept.add(rule);
        }
      }
      limits[i] = kept;
    }
  }

  /** Descriptor {@code i}'s limits; empty when none matched. */
  public List<RateLimitRule> limits(int i) {
    return limits[i];
  }

  /** Descriptor {@code i} as matched. */
  public DescriptorView descriptor(int i) {
    return descriptors[i];
  }

  /** Enforced (not unlimited) limits of every descriptor: the calls a decision makes. */
  public int enforcedCount() {
    int n = 0;
    for (List<RateLimitRule> rules : limits) {
      for (int j = 0; j < rules.size(); j++) {
        if (!rules.get(j).unlimited()) {
          n++;
        }
      }
    }
    return n;
  }

  /** The storage key of {@code rule}'s counter for descriptor {@code i}. */
  public String key(int i, RateLimitRule rule) {
    return LimitKeys.key(domain, descriptors[i], rule, keyValues == null ? null : keyValues[i]);
  }

  /** The metric name {@code rule}'s decisions on descriptor {@code i} are recorded under. */
  public String statKey(int i, RateLimitRule rule) {
    boolean path = statKeys != null && statKeys[i] != null;
    if (rule.detailedMetric()) {
      return path && detailedStatKeys[i] != null ? detailedStatKeys[i]
          : LimitKeys.detailedStatKey(domain, descriptors[i]);
    }
    return path ? statKeys[i] : rule.statKey();
  }
}
