package io.tollgate.limiter.rule;

import java.util.List;
import java.util.Map;

/**
 * A node of a domain's descriptor tree: the limits that apply when a descriptor's last entry
 * lands here, and the children for a longer descriptor.
 *
 * <p>Children are found per entry in envoyproxy/ratelimit's order: the exact {@code key} and
 * {@code value}; else the first wildcard value pattern of that key, in config order; else the
 * {@code key} declared without a value, which matches any value.
 */
public final class DescriptorNode {

  private final List<RateLimitRule> limits;
  private final Map<String, KeyChildren> children;
  private final boolean valueToMetric;
  private final boolean shareThreshold;

  /**
   * @param limits the limits at this node, possibly empty
   * @param children per entry key, the nodes below
   */
  public DescriptorNode(List<RateLimitRule> limits, Map<String, KeyChildren> children) {
    this(limits, children, false, false);
  }

  /**
   * @param limits the limits at this node, possibly empty
   * @param children per entry key, the nodes below
   * @param valueToMetric metric names show the request's value where this node matched by
   *     wildcard or by key alone
   * @param shareThreshold every value this wildcard node matches shares one counter
   */
  public DescriptorNode(List<RateLimitRule> limits, Map<String, KeyChildren> children,
      boolean valueToMetric, boolean shareThreshold) {
    this.limits = List.copyOf(limits);
    this.children = Map.copyOf(children);
    this.valueToMetric = valueToMetric;
    this.shareThreshold = shareThreshold;
  }

  /** Whether metric names show the request's value for this node ({@code value_to_metric}). */
  public boolean valueToMetric() {
    return valueToMetric;
  }

  /** Whether the values this wildcard matches share one counter ({@code share_threshold}). */
  public boolean shareThreshold() {
    return shareThreshold;
  }

  /** The limits at this node; empty when the node only leads to deeper ones. */
  public List<RateLimitRule> limits() {
    return limits;
  }

  /** The children of this node, by entry key. */
  public Map<String, KeyChildren> children() {
    return children;
  }

  /** Returns the child for one entry, or {@code null}. */
  DescriptorNode child(String key, String value) {
    KeyChildren byKey = children.get(key);
    return byKey == null ? null : byKey.find(value);
  }

  /**
   * The children of one node that share an entry key.
   *
   * @param exact children declared with a value, by value
   * @param wildcards children declared with a value containing {@code *}, in config order
   * @param any the child declared with the key alone, or {@code null}
   */
  public record KeyChildren(
      Map<String, DescriptorNode> exact, List<Wildcard> wildcards, DescriptorNode any) {

    public KeyChildren {
      exact = Map.copyOf(exact);
      wildcards = List.copyOf(wildcards);
    }

    DescriptorNode find(String value) {
      DescriptorNode node = exact.get(value);
      if (node != null) {
        return node;
      }
      Wildcard w = firstWildcard(value);
      return w != null ? w.node() : any;
    }

    /** The first wildcard child matching {@code value}, or {@code null}. */
    Wildcard firstWildcard(String value) {
      for (int i = 0; i < wildcards.size(); i++) {
        Wildcard w = wildcards.get(i);
        if (w.matches(value)) {
          return w;
        }
      }
      return null;
    }
  }

  /**
   * A child whose value is a pattern; each {@code *} matches any run of characters, including
   * none.
   *
   * @param pattern the declared value
   * @param parts the pattern split on {@code *}
   * @param node the child node
   */
  public record Wildcard(String pattern, List<String> parts, DescriptorNode node) {

    public Wildcard(String pattern, DescriptorNode node) {
      this(pattern, List.of(pattern.split("\\*", -1)), node);
    }

    /** Whether {@code value} matches the pattern. */
    public boolean matches(String value) {
      int n = parts.size();
      String first = parts.get(0);
      String last = parts.get(n - 1);
      if (!value.startsWith(first)) {
        return false;
      }
      int from = first.length();
      int end = value.length() - last.length();
      if (end < from) {
        return false;
      }
      for (int i = 1; i < n - 1; i++) {
        int at = value.indexOf(parts.get(i), from);
        if (at < 0 || at + parts.get(i).length() > end) {
          return false;
        }
        from = at + parts.get(i).length();
      }
      return value.startsWith(last, end);
    }
  }
}
