package io.tollgate.limiter.config;

import io.tollgate.limiter.rule.RlqsDomain;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;

/**
 * Reads a rule file's {@code rlqs:} block, the domain's settings for Envoy's Rate Limit Quota
 * Service:
 * <pre>
 * rlqs:
 *   bucket_key_order: [tenant, path]   # these keys first, in this order; others sorted after
 *   unmatched: deny_all                # allow_all | deny_all; default: --rlqs-unmatched
 *   min_share: 5                       # floor of a proxy's share, units per window; default 1
 * </pre>
 */
final class RlqsConfig {

  private static final Set<String> FIELDS = Set.of("bucket_key_order", "unmatched", "min_share");

  private RlqsConfig() {}

  static RlqsDomain parse(ConfigLoader.FileParser parser, Node node) throws ConfigException {
    MappingNode map = parser.mapping(node, "rlqs");
    Map<String, NodeTuple> f = parser.fields(map, "rlqs", FIELDS);
    List<String> order = new ArrayList<>();
    if (f.containsKey("bucket_key_order")) {
      List<Node> keys = parser.sequence(f.get("bucket_key_order").getValueNode(),
          "rlqs.bucket_key_order");
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < keys.size(); i++) {
        String path = "rlqs.bucket_key_order[" + i + "]";
        String key = parser.string(keys.get(i), path);
        if (key.isEmpty()) {
          throw parser.error(keys.get(i), path, "must not be empty");
        }
        if (!seen.add(key)) {
          throw parser.error(keys.get(i), path, "key '" + key + "' is listed twice");
        }
        order.add(key);
      }
    }
    String unmatched = "";
    if (f.containsKey("unmatched")) {
      Node u = f.get("unmatched").getValueNode();
      unmatched = parser.string(u, "rlqs.unmatched");
      if (!unmatched.equals("allow_all") && !unmatched.equals("deny_all")) {
        throw parser.error(u, "rlqs.unmatched", "unknown action '" + unmatched
            + "' (expected allow_all or deny_all)");
      }
    }
    long minShare = 0;
    if (f.containsKey("min_share")) {
      minShare = parser.uint32(f.get("min_share").getValueNode(), "rlqs.min_share", 1);
    }
    return new RlqsDomain(order, unmatched, minShare);
  }
}
