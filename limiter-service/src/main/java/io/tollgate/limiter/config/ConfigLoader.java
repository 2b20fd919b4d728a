package io.tollgate.limiter.config;

import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.SlidingWindow;
import io.tollgate.limiter.plan.PlanConfig;
import io.tollgate.limiter.rule.DescriptorNode;
import io.tollgate.limiter.rule.LimitUnit;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RuleSet;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Loads rate-limit rules from one YAML file or a directory of {@code *.yaml}/{@code *.yml} files,
 * one domain per file, in envoyproxy/ratelimit's format plus Tollgate's extensions:
 *
 * <ul>
 *   <li>{@code rate_limits:} a list of limits on one descriptor, beside {@code rate_limit:};
 *   <li>{@code algorithm:} {@code fixed_window} (default), {@code sliding_window} or
 *       {@code token_bucket}, with {@code burst:} for the token bucket.
 * </ul>
 *
 * <p>Beside the rule files, a config may hold one plans file: the account throttle, stage and
 * method throttles, usage plans and API keys ({@link PlansFile}).
 *
 * <p>Every problem is reported with the file, line and field path; unknown fields are errors.
 * {@code metadata} is checked for shape and otherwise unused (Tollgate sends no response
 * metadata).
 */
public final class ConfigLoader {

  /** The most a {@code requests_per_unit} or {@code burst} may be: the wire format's uint32. */
  static final long MAX_UINT32 = 0xFFFF_FFFFL;

  private static final Set<String> ROOT_FIELDS = Set.of("domain", "descriptors", "rlqs");
  private static final Set<String> DESCRIPTOR_FIELDS = Set.of("key", "value", "rate_limit",
      "rate_limits", "descriptors", "shadow_mode", "quota_mode", "detailed_metric", "metadata",
      "value_to_metric", "share_threshold");
  private static final Set<String> LIMIT_FIELDS = Set.of("unit", "requests_per_unit", "unlimited",
      "name", "replaces", "algorithm", "burst");
  private static final Set<String> REPLACES_FIELDS = Set.of("name");

  private ConfigLoader() {}

  /**
   * Loads every domain under {@code path} (checking the plans file too, if there is one).
   *
   * @param path one YAML file, or a directory whose {@code *.yaml} and {@code *.yml} files are read
   * @throws ConfigException naming the file, line and field of the first problem
   */
  public static RuleSet load(Path path) throws ConfigException {
    Map<String, String> texts = read(path);
    return parse(texts);
  }

  /**
   * Reads the config files under {@code path}: file name to content, in name order.
   *
   * @throws ConfigException if the path is missing, empty or unreadable
   */
  public static Map<String, String> read(Path path) throws ConfigException {
    Map<String, String> texts = new TreeMap<>();
    try {
      if (Files.isDirectory(path)) {
        try (Stream<Path> files = Files.list(path)) {
          for (Path f : (Iterable<Path>) files::iterator) {
            String name = f.getFileName().toString();
            if ((name.endsWith(".yaml") || name.endsWith(".yml")) && !name.startsWith(".")
                && Files.isRegularFile(f)) {
              texts.put(name, Files.readString(f, StandardCharsets.UTF_8));
            }
          }
        }
        if (texts.isEmpty()) {
          throw new ConfigException(path + ": no *.yaml or *.yml files in the directory");
        }
      } else if (Files.isRegularFile(path)) {
        texts.put(path.getFileName().toString(), Files.readString(path, StandardCharsets.UTF_8));
      } else {
        throw new ConfigException(path + ": no such file or directory");
      }
    } catch (IOException e) {
      throw new ConfigException(path + ": cannot read: " + e.getMessage());
    }
    return texts;
  }

  /**
   * Builds a rule set from file contents (file name to YAML text). A plans file among them is
   * checked too, and dropped; {@link #load(Map)} returns it.
   *
   * @throws ConfigException naming the file, line and field of the first problem
   */
  public static RuleSet parse(Map<String, String> files) throws ConfigException {
    return load(files).rules();
  }

  /**
   * Builds the whole config from file contents (file name to YAML text): the rules of every rule
   * file, and the plans of the plans file if there is one ({@link PlanConfig#DEFAULT} if not).
   *
   * <p>A file is a plans file when its top level has any of {@code account}, {@code stages},
   * {@code usage_plans} or {@code api_keys}; such a file may not also have {@code domain}, and a
   * config has at most one. Every other file is a rule file (one domain each).
   *
   * @throws ConfigException naming the file, line and field of the first problem
   */
  public static LoadedConfig load(Map<String, String> files) throws ConfigException {
    Map<String, DescriptorNode> domains = new HashMap<>();
    Map<String, String> sources = new HashMap<>();
    Map<String, io.tollgate.limiter.rule.RlqsDomain> rlqs = new HashMap<>();
    PlanConfig plans = PlanConfig.DEFAULT;
    String plansFile = null;
    for (Map.Entry<String, String> file : files.entrySet()) {
      FileParser parser = new FileParser(file.getKey());
      Node root = parser.compose(file.getValue());
      MappingNode map = parser.mapping(root, "");
      NodeTuple plansField = PlansFile.firstRootField(map);
      if (plansField != null) {
        if (PlansFile.rootField(map, "domain") != null) {
          String name = ((ScalarNode) plansField.getKeyNode()).getValue();
          throw parser.error(plansField.getKeyNode(), name, "a file holds either rules (domain, "
              + "descriptors) or plans (" + String.join(", ", PlansFile.ROOT_FIELDS)
              + "), not both");
        }
        if (plansFile != null) {
          throw parser.error(plansField.getKeyNode(), "", "a second plans file: " + plansFile
              + " declares the plans already (a config has at most one plans file)");
        }
        plans = new PlansFile(parser).parse(map);
        plansFile = file.getKey();
        continue;
      }
      Map<String, NodeTuple> fields = parser.fields(map, "", ROOT_FIELDS);
      String domain = parser.requiredString(fields, map, "", "domain");
      if (domain.isEmpty()) {
        throw ConfigException.at(file.getKey(), line(fields.get("domain").getValueNode()), "domain",
            "must not be empty");
      }
      if (domains.containsKey(domain)) {
        throw ConfigException.at(file.getKey(), line(fields.get("domain").getValueNode()), "domain",
            "duplicate domain '" + domain + "', already defined in " + sources.get(domain));
      }
      DescriptorNode node = parser.descriptors(fields.get("descriptors"), "descriptors", domain,
          domain);
      domains.put(domain, node);
      sources.put(domain, file.getKey());
      if (fields.containsKey("rlqs")) {
        rlqs.put(domain, RlqsConfig.parse(parser, fields.get("rlqs").getValueNode()));
      }
    }
    return new LoadedConfig(new RuleSet(domains, sources, rlqs), plans);
  }

  /** The 1-based line {@code node} starts on; 0 if unknown. */
  static int line(Node node) {
    if (node == null) {
      return 0;
    }
    Mark mark = node.getStartMark();
    return mark == null ? 0 : mark.getLine() + 1;
  }

  /** Parses one file; holds its name for messages. */
  static final class FileParser {

    private final String file;

    FileParser(String file) {
      this.file = file;
    }

    Node compose(String text) throws ConfigException {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      options.setMaxAliasesForCollections(50);
      Yaml yaml = new Yaml(new SafeConstructor(options), new org.yaml.snakeyaml.representer
          .Representer(new org.yaml.snakeyaml.DumperOptions()), new org.yaml.snakeyaml
          .DumperOptions(), options);
      try {
        Node node = yaml.compose(new StringReader(text));
        if (node == null) {
          throw ConfigException.at(file, 0, "", "the file is empty");
        }
        return node;
      } catch (MarkedYAMLException e) {
        Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
        int line = mark == null ? 0 : mark.getLine() + 1;
        String problem = e.getProblem() != null ? e.getProblem() : e.getMessage();
        problem = problem.trim();
        Mark context = e.getContextMark();
        if (e.getProblem() != null && e.getContext() != null && context != null
            && context.getLine() + 1 != line) {
          // Where the unclosed quote, bracket or block began; often the actual mistake.
          problem += " (" + e.getContext() + " from line " + (context.getLine() + 1) + ")";
        }
        throw ConfigException.at(file, line, "", "invalid YAML: " + problem);
      } catch (YAMLException e) {
        throw ConfigException.at(file, 0, "", "invalid YAML: " + e.getMessage());
      }
    }

    ConfigException error(Node node, String path, String message) {
      return ConfigException.at(file, line(node), path, message);
    }

    MappingNode mapping(Node node, String path) throws ConfigException {
      if (node instanceof MappingNode m) {
        return m;
      }
      throw error(node, path, "expected a mapping, found " + describe(node));
    }

    Map<String, NodeTuple> fields(MappingNode map, String path, Set<String> allowed)
        throws ConfigException {
      Map<String, NodeTuple> out = new LinkedHashMap<>();
      List<Node> merges = new ArrayList<>();
      for (NodeTuple t : map.getValue()) {
        Node keyNode = t.getKeyNode();
        if (!(keyNode instanceof ScalarNode k)) {
          throw error(keyNode, path, "field names must be strings");
        }
        if (k.getTag().equals(Tag.MERGE)) {
          // A YAML merge key (<<: *anchor); its fields fill in what this mapping does not set.
          Node source = t.getValueNode();
          if (source instanceof SequenceNode seq) {
            merges.addAll(seq.getValue());
          } else {
            merges.add(source);
          }
          continue;
        }
        String name = k.getValue();
        String fieldPath = path.isEmpty() ? name : path + "." + name;
        if (!allowed.contains(name)) {
          throw error(keyNode, fieldPath,
              "unknown field '" + name + "' (expected one of " + String.join(", ",
                  new java.util.TreeSet<>(allowed)) + ")");
        }
        // compose() builds nodes only, so LoaderOptions' duplicate-key check never runs.
        NodeTuple first = out.get(name);
        if (first != null) {
          throw error(keyNode, fieldPath,
              "duplicate field, first set on line " + line(first.getKeyNode()));
        }
        out.put(name, t);
      }
      for (Node source : merges) {
        for (Map.Entry<String, NodeTuple> e : fields(mapping(source, path + ".<<"), path, allowed)
            .entrySet()) {
          out.putIfAbsent(e.getKey(), e.getValue());
        }
      }
      return out;
    }

    String requiredString(Map<String, NodeTuple> fields, Node parent, String path, String name)
        throws ConfigException {
      NodeTuple t = fields.get(name);
      String fieldPath = path.isEmpty() ? name : path + "." + name;
      if (t == null) {
        throw error(parent, fieldPath, "required field is missing");
      }
      return string(t.getValueNode(), fieldPath);
    }

    String string(Node node, String path) throws ConfigException {
      if (node instanceof ScalarNode s && !s.getTag().equals(Tag.NULL)) {
        return s.getValue();
      }
      if (node instanceof ScalarNode) {
        return "";
      }
      throw error(node, path, "expected a string, found " + describe(node));
    }

    boolean bool(Node node, String path) throws ConfigException {
      if (node instanceof ScalarNode s) {
        String v = s.getValue();
        if (v.equalsIgnoreCase("true")) {
          return true;
        }
        if (v.equalsIgnoreCase("false")) {
          return false;
        }
      }
      throw error(node, path, "expected true or false, found " + describe(node));
    }

    long uint32(Node node, String path, long min) throws ConfigException {
      if (node instanceof ScalarNode s && s.getTag().equals(Tag.INT)) {
        try {
          long v = Long.parseLong(s.getValue().replace("_", ""));
          if (v >= min && v <= MAX_UINT32) {
            return v;
          }
        } catch (NumberFormatException e) {
          // reported below
        }
      }
      throw error(node, path, "expected a whole number from " + min + " to " + MAX_UINT32
          + ", found " + describe(node));
    }

    List<Node> sequence(Node node, String path) throws ConfigException {
      if (node instanceof SequenceNode s) {
        return s.getValue();
      }
      if (node instanceof ScalarNode sc && sc.getTag().equals(Tag.NULL)) {
        return List.of();
      }
      throw error(node, path, "expected a list, found " + describe(node));
    }

    /** Builds the node holding the children listed under {@code descriptors}. */
    DescriptorNode descriptors(NodeTuple tuple, String path, String domain, String statPrefix)
        throws ConfigException {
      return node(List.of(), tuple == null ? List.of() : sequence(tuple.getValueNode(), path), path,
          domain, statPrefix, false, false);
    }

    private DescriptorNode node(List<RateLimitRule> limits, List<Node> children, String path,
        String domain, String statPrefix, boolean valueToMetric, boolean shareThreshold)
        throws ConfigException {
      Map<String, Map<String, DescriptorNode>> exact = new LinkedHashMap<>();
      Map<String, List<DescriptorNode.Wildcard>> wildcards = new LinkedHashMap<>();
      Map<String, DescriptorNode> any = new LinkedHashMap<>();
      Set<String> seen = new java.util.HashSet<>();
      for (int i = 0; i < children.size(); i++) {
        String childPath = path + "[" + i + "]";
        Node childNode = children.get(i);
        MappingNode map = mapping(childNode, childPath);
        Map<String, NodeTuple> f = fields(map, childPath, DESCRIPTOR_FIELDS);
        String key = requiredString(f, map, childPath, "key");
        if (key.isEmpty()) {
          throw error(f.get("key").getValueNode(), childPath + ".key", "must not be empty");
        }
        String value = f.containsKey("value")
            ? string(f.get("value").getValueNode(), childPath + ".value") : "";
        String composite = value.isEmpty() ? key : key + "_" + value;
        if (!seen.add(composite)) {
          throw error(map, childPath, "duplicate descriptor composite key '" + statPrefix + "."
              + composite + "'");
        }
        String statKey = statPrefix + "." + composite;
        boolean shadow = f.containsKey("shadow_mode")
            && bool(f.get("shadow_mode").getValueNode(), childPath + ".shadow_mode");
        boolean detailed = f.containsKey("detailed_metric")
            && bool(f.get("detailed_metric").getValueNode(), childPath + ".detailed_metric");
        boolean quota = f.containsKey("quota_mode")
            && bool(f.get("quota_mode").getValueNode(), childPath + ".quota_mode");
        boolean childValueToMetric = f.containsKey("value_to_metric")
            && bool(f.get("value_to_metric").getValueNode(), childPath + ".value_to_metric");
        boolean childShares = f.containsKey("share_threshold")
            && bool(f.get("share_threshold").getValueNode(), childPath + ".share_threshold");
        if (childShares && value.indexOf('*') < 0) {
          throw error(f.get("share_threshold").getKeyNode(), childPath + ".share_threshold",
              "applies only to a value with a * wildcard, and value is '" + value + "'");
        }
        if (f.containsKey("metadata")) {
          // Returned by envoyproxy/ratelimit only as opt-in response metadata, which Tollgate
          // does not send: accepted so such configs load, checked for shape, otherwise unused.
          mapping(f.get("metadata").getValueNode(), childPath + ".metadata");
        }
        List<RateLimitRule> childLimits = new ArrayList<>();
        List<Node> limitNodes = new ArrayList<>();
        List<String> limitPaths = new ArrayList<>();
        if (f.containsKey("rate_limit")) {
          NodeTuple t = f.get("rate_limit");
          childLimits.add(limit(t.getValueNode(), childPath + ".rate_limit", shadow, quota,
              detailed, statKey, 0));
          limitNodes.add(t.getValueNode());
          limitPaths.add(childPath + ".rate_limit");
        }
        if (f.containsKey("rate_limits")) {
          String listPath = childPath + ".rate_limits";
          List<Node> list = sequence(f.get("rate_limits").getValueNode(), listPath);
          for (int j = 0; j < list.size(); j++) {
            childLimits.add(limit(list.get(j), listPath + "[" + j + "]", shadow, quota,
                detailed, statKey, childLimits.size()));
            limitNodes.add(list.get(j));
            limitPaths.add(listPath + "[" + j + "]");
          }
        }
        checkLimits(childLimits, limitNodes, limitPaths);
        List<Node> grandChildren = f.containsKey("descriptors")
            ? sequence(f.get("descriptors").getValueNode(), childPath + ".descriptors")
            : List.of();
        DescriptorNode child = node(childLimits, grandChildren, childPath + ".descriptors",
            domain, statKey, childValueToMetric, childShares);
        if (value.isEmpty()) {
          any.put(key, child);
        } else if (value.indexOf('*') >= 0) {
          wildcards.computeIfAbsent(key, k -> new ArrayList<>())
              .add(new DescriptorNode.Wildcard(value, child));
        } else {
          exact.computeIfAbsent(key, k -> new HashMap<>()).put(value, child);
        }
      }
      Set<String> keys = new java.util.LinkedHashSet<>();
      keys.addAll(exact.keySet());
      keys.addAll(wildcards.keySet());
      keys.addAll(any.keySet());
      Map<String, DescriptorNode.KeyChildren> byKey = new HashMap<>();
      for (String k : keys) {
        byKey.put(k, new DescriptorNode.KeyChildren(exact.getOrDefault(k, Map.of()),
            wildcards.getOrDefault(k, List.of()), any.get(k)));
      }
      return new DescriptorNode(limits, byKey, valueToMetric, shareThreshold);
    }

    /** Rejects an unlimited limit beside others; reports the unlimited one's line and path. */
    private void checkLimits(List<RateLimitRule> limits, List<Node> nodes, List<String> paths)
        throws ConfigException {
      if (limits.size() > 1) {
        for (int i = 0; i < limits.size(); i++) {
          if (limits.get(i).unlimited()) {
            throw error(nodes.get(i), paths.get(i),
                "an unlimited rate limit cannot be combined with other limits");
          }
        }
      }
    }

    private RateLimitRule limit(Node node, String path, boolean shadow, boolean quota,
        boolean detailed, String statKey, int index) throws ConfigException {
      MappingNode map = mapping(node, path);
      Map<String, NodeTuple> f = fields(map, path, LIMIT_FIELDS);
      boolean unlimited = f.containsKey("unlimited")
          && bool(f.get("unlimited").getValueNode(), path + ".unlimited");
      String name = f.containsKey("name") ? string(f.get("name").getValueNode(), path + ".name")
          : "";
      List<String> replaces = new ArrayList<>();
      if (f.containsKey("replaces")) {
        List<Node> list = sequence(f.get("replaces").getValueNode(), path + ".replaces");
        for (int i = 0; i < list.size(); i++) {
          String rPath = path + ".replaces[" + i + "]";
          MappingNode r = mapping(list.get(i), rPath);
          Map<String, NodeTuple> rf = fields(r, rPath, REPLACES_FIELDS);
          String replaced = rf.containsKey("name")
              ? string(rf.get("name").getValueNode(), rPath + ".name") : "";
          if (replaced.isEmpty()) {
            throw error(r, rPath + ".name", "a replaces entry needs a non-empty name");
          }
          if (replaced.equals(name)) {
            throw error(r, rPath + ".name", "a limit cannot replace itself ('" + name + "')");
          }
          replaces.add(replaced);
        }
      }
      if (unlimited) {
        for (String forbidden : List.of("unit", "requests_per_unit", "algorithm", "burst")) {
          if (f.containsKey(forbidden)) {
            throw error(f.get(forbidden).getKeyNode(), path + "." + forbidden,
                "must not be set when unlimited is true");
          }
        }
        return new RateLimitRule(name, null, 0, null, true, shadow, quota, detailed, replaces,
            statKey, "u");
      }
      if (!f.containsKey("unit")) {
        throw error(map, path + ".unit", "required field is missing (expected one of "
            + unitNames() + ")");
      }
      Node unitNode = f.get("unit").getValueNode();
      String unitName = string(unitNode, path + ".unit");
      LimitUnit unit = LimitUnit.parse(unitName);
      if (unit == null) {
        throw error(unitNode, path + ".unit", "unknown unit '" + unitName + "' (expected one of "
            + unitNames() + ")");
      }
      if (!f.containsKey("requests_per_unit")) {
        throw error(map, path + ".requests_per_unit", "required field is missing");
      }
      long rpu = uint32(f.get("requests_per_unit").getValueNode(), path + ".requests_per_unit", 0);
      LimitAlgorithm.Kind kind = LimitAlgorithm.Kind.FIXED_WINDOW;
      if (f.containsKey("algorithm")) {
        Node a = f.get("algorithm").getValueNode();
        String aName = string(a, path + ".algorithm");
        kind = null;
        for (LimitAlgorithm.Kind k : LimitAlgorithm.Kind.values()) {
          // Calendar quotas belong to usage plans; a rule cannot name one.
          if (k != LimitAlgorithm.Kind.CALENDAR_QUOTA && k.configName().equalsIgnoreCase(aName)) {
            kind = k;
          }
        }
        if (kind == null) {
          throw error(a, path + ".algorithm", "unknown algorithm '" + aName
              + "' (expected one of fixed_window, sliding_window, token_bucket)");
        }
      }
      long burst = rpu;
      if (f.containsKey("burst")) {
        Node b = f.get("burst").getValueNode();
        if (kind != LimitAlgorithm.Kind.TOKEN_BUCKET) {
          throw error(b, path + ".burst", "burst applies only to algorithm token_bucket");
        }
        burst = uint32(b, path + ".burst", 1);
      }
      if (kind == LimitAlgorithm.Kind.TOKEN_BUCKET) {
        if (rpu == 0) {
          throw error(f.get("requests_per_unit").getValueNode(), path + ".requests_per_unit",
              "a token bucket needs a refill rate of at least 1");
        }
        if (rpu > unit.nanos()) {
          throw error(f.get("requests_per_unit").getValueNode(), path + ".requests_per_unit",
              "a token bucket refills at most one token per nanosecond");
        }
      }
      if (kind == LimitAlgorithm.Kind.SLIDING_WINDOW && unit.nanos() % SlidingWindow.SLOTS != 0) {
        throw error(unitNode, path + ".unit", "unit too short for a sliding window");
      }
      LimitAlgorithm algorithm = LimitAlgorithm.of(kind, rpu, unit.nanos(), burst);
      String tag = index + ":" + kind.ordinal() + ":" + unit.seconds();
      return new RateLimitRule(name, unit, rpu, algorithm, false, shadow, quota, detailed, replaces,
          statKey, tag);
    }

    private static String unitNames() {
      StringBuilder sb = new StringBuilder();
      for (LimitUnit u : LimitUnit.values()) {
        if (sb.length() > 0) {
          sb.append(", ");
        }
        sb.append(u.configName());
      }
      return sb.toString();
    }

    static String describe(Node node) {
      if (node instanceof ScalarNode s) {
        return s.getTag().equals(Tag.NULL) ? "nothing" : "'" + s.getValue() + "'";
      }
      if (node instanceof SequenceNode) {
        return "a list";
      }
      return "a mapping";
    }
  }
}
