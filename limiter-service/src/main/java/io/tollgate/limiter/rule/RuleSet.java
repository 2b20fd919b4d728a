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

  /**
   * @param domains each domain's root node
   * @param sources for each domain, the file it was read from (for messages and debug views)
   */
  public RuleSet(Map<String, DescriptorNode> domains, Map<String, String> sources) {
    this.domains = Map.copyOf(domains);
    this.sources = Map.copyOf(sources);
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

  /** Whether the domain is loaded. */
  public boolean hasDomain(String domain) {
    return domains.containsKey(domain);
  }
}
