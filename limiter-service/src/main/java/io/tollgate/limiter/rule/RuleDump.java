package io.tollgate.limiter.rule;

import io.tollgate.limiter.algorithm.LimitAlgorithm;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The loaded rules as text, one limit a line, for operators: what the limiter actually enforces
 * after every file was read and checked (envoyproxy/ratelimit's {@code /rlconfig} gives the same
 * view). Lines are sorted by domain and descriptor path, so two dumps can be compared with diff.
 *
 * <pre>
 * edge.remote_address: fixed_window 10/second (ratelimit.yaml)
 * edge.api_key: token_bucket 5/second burst=20 (ratelimit.yaml)
 * edge.path_/upload.user_internal-*: unlimited (ratelimit.yaml)
 * </pre>
 */
public final class RuleDump {

  private RuleDump() {}

  /** Every limit of every domain of {@code rules}, one line each. */
  public static String of(RuleSet rules) {
    List<String> lines = new ArrayList<>();
    Map<String, DescriptorNode> domains = new TreeMap<>(rules.domains());
    for (Map.Entry<String, DescriptorNode> d : domains.entrySet()) {
      collect(d.getValue(), rules.sources().getOrDefault(d.getKey(), ""), lines);
    }
    lines.sort(null);
    StringBuilder text = new StringBuilder();
    for (String line : lines) {
      text.append(line).append('\n');
    }
    return text.toString();
  }

  private static void collect(DescriptorNode node, String source, List<String> lines) {
    for (RateLimitRule rule : node.limits()) {
      lines.add(line(rule, source));
    }
    for (DescriptorNode.KeyChildren kc : node.children().values()) {
      for (DescriptorNode child : new TreeMap<>(kc.exact()).values()) {
        collect(child, source, lines);
      }
      for (DescriptorNode.Wildcard w : kc.wildcards()) {
        collect(w.node(), source, lines);
      }
      if (kc.any() != null) {
        collect(kc.any(), source, lines);
      }
    }
  }

  private static String line(RateLimitRule rule, String source) {
    StringBuilder s = new StringBuilder(rule.statKey()).append(": ");
    if (rule.unlimited()) {
      s.append("unlimited");
    } else {
      LimitAlgorithm a = rule.algorithm();
      s.append(a.kind().configName()).append(' ').append(rule.requestsPerUnit()).append('/')
          .append(rule.unit().name().toLowerCase(java.util.Locale.ROOT));
      if (a.kind() == LimitAlgorithm.Kind.TOKEN_BUCKET) {
        s.append(" burst=").append(a.limit());
      }
    }
    if (!rule.name().isEmpty()) {
      s.append(" name=").append(rule.name());
    }
    if (!rule.replaces().isEmpty()) {
      s.append(" replaces=").append(String.join(",", rule.replaces()));
    }
    if (rule.shadowMode()) {
      s.append(" shadow_mode");
    }
    if (rule.quotaMode()) {
      s.append(" quota_mode");
    }
    if (rule.detailedMetric()) {
      s.append(" detailed_metric");
    }
    return s.append(" (").append(source).append(')').toString();
  }
}
