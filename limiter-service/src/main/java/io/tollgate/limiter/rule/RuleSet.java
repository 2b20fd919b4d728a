package io.tollgate.limiter.rule;

import java.util.List;
import java.util.Map;

/**
 * All loaded domains. Immutable; matching reads only memory.
 */
public final class RuleSet {

  /** A rule set with no domains: every descriptor passes. */
  public static final RuleSet EMPTY = new RuleSet(Map.of(), Map.of());

  private final Map<String, DescriptorNode> domains;
  private final Map<String, String> sources;
  private final Map<String, RlqsDomain> rlqs;
  /** Domains with a value_to_metric or share_threshold node, which need {@link #matchPath}. */
  private final java.util.Set<String> pathDomains;

  /**
   * @param domains each domain's root node
   * @param sources for each domain, the file it was read from (for messages and debug views)
   */
  public RuleSet(Map<String, DescriptorNode> domains, Map<String, String> sources) {
    this(domains, sources, Map.of());
  }

  /**
   * @param domains each domain's root node
   * @param sources for each domain, the file it was read from (for messages and debug views)
   * @param rlqs the domains' {@code rlqs:} settings; a domain without is {@link RlqsDomain#DEFAULT}
   */
  public RuleSet(Map<String, DescriptorNode> domains, Map<String, String> sources,
      Map<String, RlqsDomain> rlqs) {
    this.rlqs = Map.copyOf(rlqs);
    this.domains = Map.copyOf(domains);
    this.sources = Map.copyOf(sources);
    java.util.Set<String> path = new java.util.HashSet<>();
    for (Map.Entry<String, DescriptorNode> e : this.domains.entrySet()) {
      if (usesPath(e.getValue())) {
        path.add(e.getKey());
      }
    }
    this.pathDomains = java.util.Set.copyOf(path);
  }

  private static boolean usesPath(DescriptorNode node) {
    if (node.valueToMetric() || node.shareThreshold()) {
      return true;
    }
    for (DescriptorNode.KeyChildren kc : node.children().values()) {
      for (DescriptorNode c : kc.exact().values()) {
        if (usesPath(c)) {
          return true;
        }
      }
      for (DescriptorNode.Wildcard w : kc.wildcards()) {
        if (usesPath(w.node())) {
          return true;
        }
      }
      if (kc.any() != null && usesPath(kc.any())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a domain has {@code value_to_metric} or {@code share_threshold} nodes, whose
   * descriptors must be matched with {@link #matchPath} to name their counters and metrics.
   */
  public boolean usesPathFeatures(String domain) {
    return pathDomains.contains(domain);
  }

  /**
   * The outcome of {@link #matchPath}.
   *
   * @param limits the limits, as {@link #match} finds them
   * @param keyValues per entry, the value its counter is keyed by; {@code null} when every entry
   *     uses its own value. A {@code share_threshold} wildcard puts its pattern here, so all the
   *     values it matches share one counter
   * @param statKey the metric name: the rule's, with the request's value where a node asks for
   *     {@code value_to_metric}
   * @param detailedStatKey the {@code detailed_metric} name when a shared pattern replaces a
   *     value; {@code null} otherwise
   */
  public record PathMatch(
      List<RateLimitRule> limits, String[] keyValues, String statKey, String detailedStatKey) {}

  /**
   * Matches like {@link #match} and also names the counter and metric as envoyproxy/ratelimit
   * does for {@code value_to_metric} and {@code share_threshold} nodes.
   */
  public PathMatch matchPath(String domain, DescriptorView descriptor) {
    DescriptorNode node = domains.get(domain);
    if (node == null) {
      return new PathMatch(List.of(), null, null, null);
    }
    int n = descriptor.size();
    String[] keyValues = null;
    StringBuilder stat = new StringBuilder(domain);
    StringBuilder detailed = new StringBuilder(domain);
    for (int i = 0; i < n; i++) {
      String key = descriptor.key(i);
      String value = descriptor.value(i);
      DescriptorNode.KeyChildren kc = node.children().get(key);
      if (kc == null) {
        return new PathMatch(List.of(), null, null, null);
      }
      DescriptorNode next = kc.exact().get(value);
      String shown;
      String keyValue = value;
      if (next != null) {
        shown = value;
      } else {
        DescriptorNode.Wildcard w = kc.firstWildcard(value);
        if (w != null) {
          next = w.node();
          if (next.shareThreshold()) {
            shown = w.pattern();
            keyValue = w.pattern();
          } else {
            shown = next.valueToMetric() ? value : w.pattern();
          }
        } else {
          next = kc.any();
          if (next == null) {
            return new PathMatch(List.of(), null, null, null);
          }
          shown = next.valueToMetric() ? value : "";
        }
      }
      stat.append('.').append(key);
      if (!shown.isEmpty()) {
        stat.append('_').append(shown);
      }
      detailed.append('.').append(key);
      if (!keyValue.isEmpty()) {
        detailed.append('_').append(keyValue);
      }
      if (!keyValue.equals(value)) {
        if (keyValues == null) {
          keyValues = new String[n];
        }
        keyValues[i] = keyValue;
      }
      node = next;
    }
    return new PathMatch(node.limits(), keyValues, stat.toString(),
        keyValues == null ? null : detailed.toString());
  }

  /** The domains' root nodes. */
  public Map<String, DescriptorNode> domains() {
    return domains;
  }

  /** The file each domain came from. */
  public Map<String, String> sources() {
    return sources;
  }

  /** Number of limits in all domains. */
  public int limitCount() {
    int n = 0;
    for (DescriptorNode root : domains.values()) {
      n += count(root);
    }
    return n;
  }

  private static int count(DescriptorNode node) {
    int n = node.limits().size();
    for (DescriptorNode.KeyChildren kc : node.children().values()) {
      for (DescriptorNode c : kc.exact().values()) {
        n += count(c);
      }
      for (DescriptorNode.Wildcard w : kc.wildcards()) {
        n += count(w.node());
      }
      if (kc.any() != null) {
        n += count(kc.any());
      }
    }
    return n;
  }

  /**
   * Finds the limits for one descriptor: those on the node reached by following every entry, in
   * order, from the domain's root. A descriptor that stops short of a node with limits, runs past
   * the tree, or names an unknown domain gets none.
   *
   * @return the limits, possibly empty; never {@code null}
   */
  public List<RateLimitRule> match(String domain, DescriptorView descriptor) {
    DescriptorNode node = domains.get(domain);
    if (node == null) {
      return List.of();
    }
    for (int i = 0, n = descriptor.size(); i < n; i++) {
      node = node.child(descriptor.key(i), descriptor.value(i));
      if (node == null) {
        return List.of();
      }
    }
    return node.limits();
  }

  /** A domain's Rate Limit Quota Service settings; {@link RlqsDomain#DEFAULT} when it has none. */
  public RlqsDomain rlqs(String domain) {
    return rlqs.getOrDefault(domain, RlqsDomain.DEFAULT);
  }

  /** Whether the domain is loaded. */
  public boolean hasDomain(String domain) {
    return domains.containsKey(domain);
  }
}
