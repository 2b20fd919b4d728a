package io.tollgate.limiter.config;

import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiKeys;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.InvalidPlanException;
import io.tollgate.limiter.plan.PlanConfig;
import io.tollgate.limiter.plan.PlanRules;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.StageSettings;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads the plans file: the account throttle, stage and method throttles, usage plans and API
 * keys, into a {@link PlanConfig}.
 *
 * <pre>{@code
 * account: {throttle: {rate: 10000, burst: 5000}}
 * stages:
 *   - {api: petstore, stage: prod, throttle: {rate: 1000, burst: 500},
 *      methods: {"GET /pets/{id}": {rate: 100, burst: 50}}}
 * usage_plans:
 *   - id: basic
 *     throttle: {rate: 5, burst: 10}
 *     quota: {limit: 10000, period: MONTH, offset: 0, time_zone: Europe/Berlin}
 *     api_stages: [{api: petstore, stage: prod, methods: {"POST /pets": {rate: 1, burst: 2}}}]
 * api_keys:
 *   - {id: partner-a, hash: <ApiKeys.hash of the value>, plans: [basic]}
 * }</pre>
 *
 * <p>The shape (types, required and unknown fields) is checked here; the values by
 * {@link PlanRules}, the same rules the admin API applies. Their errors name a field path, which
 * this class maps back to the line where that field is written.
 */
final class PlansFile {

  /** The top-level fields that make a file a plans file, in the order they are documented. */
  static final List<String> ROOT_FIELDS = List.of("account", "stages", "usage_plans", "api_keys");

  private static final Set<String> ROOT = Set.copyOf(ROOT_FIELDS);
  private static final Set<String> ACCOUNT_FIELDS = Set.of("throttle");
  private static final Set<String> THROTTLE_FIELDS = Set.of("rate", "burst");
  private static final Set<String> STAGE_FIELDS = Set.of("api", "stage", "throttle", "methods");
  private static final Set<String> PLAN_FIELDS = Set.of("id", "name", "description", "throttle",
      "quota", "api_stages");
  private static final Set<String> QUOTA_FIELDS = Set.of("limit", "period", "offset",
      "time_zone");
  private static final Set<String> PLAN_STAGE_FIELDS = Set.of("api", "stage", "methods");
  private static final Set<String> KEY_FIELDS = Set.of("id", "name", "hash", "value", "enabled",
      "plans");
  private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

  private final ConfigLoader.FileParser parser;
  /** The node of each field path read so far, to give {@link PlanRules}' errors a line. */
  private final Map<String, Node> nodes = new HashMap<>();

  PlansFile(ConfigLoader.FileParser parser) {
    this.parser = parser;
  }

  /** The first top-level field of {@code root} that marks a plans file, or {@code null}. */
  static NodeTuple firstRootField(MappingNode root) {
    for (NodeTuple t : root.getValue()) {
      if (t.getKeyNode() instanceof ScalarNode k && ROOT.contains(k.getValue())) {
        return t;
      }
    }
    return null;
  }

  /** The top-level field {@code name} of {@code root}, or {@code null}. */
  static NodeTuple rootField(MappingNode root, String name) {
    for (NodeTuple t : root.getValue()) {
      if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(name)) {
        return t;
      }
    }
    return null;
  }

  /** Reads and checks the whole file. */
  PlanConfig parse(MappingNode root) throws ConfigException {
    Map<String, NodeTuple> f = parser.fields(root, "", ROOT);

    Throttle account = PlanConfig.DEFAULT_ACCOUNT_THROTTLE;
    if (f.containsKey("account") && !isNull(f.get("account").getValueNode())) {
      MappingNode map = mapping(f.get("account").getValueNode(), "account");
      Map<String, NodeTuple> af = parser.fields(map, "account", ACCOUNT_FIELDS);
      if (af.containsKey("throttle")) {
        account = throttle(af.get("throttle").getValueNode(), "account.throttle");
      }
    }

    Map<String, StageSettings> stages = stages(f.get("stages"), account);
    Map<String, UsagePlan> plans = plans(f.get("usage_plans"), account);
    Map<String, ApiKey> keys = keys(f.get("api_keys"), plans);
    return new PlanConfig(account, stages, plans, keys);
  }

  private Map<String, StageSettings> stages(NodeTuple tuple, Throttle account)
      throws ConfigException {
    Map<String, StageSettings> stages = new LinkedHashMap<>();
    Map<String, Integer> positions = new HashMap<>();
    List<Node> list = tuple == null ? List.of() : sequence(tuple.getValueNode(), "stages");
    for (int i = 0; i < list.size(); i++) {
      String path = "stages[" + i + "]";
      MappingNode map = mapping(list.get(i), path);
      Map<String, NodeTuple> f = parser.fields(map, path, STAGE_FIELDS);
      String api = requiredString(f, map, path, "api");
      String stage = requiredString(f, map, path, "stage");
      Throttle throttle = f.containsKey("throttle")
          ? throttle(f.get("throttle").getValueNode(), path + ".throttle") : null;
      Map<String, Throttle> methods = methods(f.get("methods"), path);
      StageSettings settings = new StageSettings(api, stage, throttle, methods);
      Integer first = positions.putIfAbsent(settings.id(), i);
      if (first != null) {
        throw parser.error(map, path, "stage " + settings.id() + " is listed twice (first at "
            + "stages[" + first + "])");
      }
      stages.put(settings.id(), settings);
    }
    try {
      PlanRules.checkStages("stages", account, stages);
    } catch (InvalidPlanException e) {
      throw error(e);
    }
    return stages;
  }

  private Map<String, UsagePlan> plans(NodeTuple tuple, Throttle account) throws ConfigException {
    Map<String, UsagePlan> plans = new LinkedHashMap<>();
    Map<String, Integer> positions = new HashMap<>();
    List<Node> list = tuple == null ? List.of() : sequence(tuple.getValueNode(), "usage_plans");
    for (int i = 0; i < list.size(); i++) {
      String path = "usage_plans[" + i + "]";
      MappingNode map = mapping(list.get(i), path);
      Map<String, NodeTuple> f = parser.fields(map, path, PLAN_FIELDS);
      String id = requiredString(f, map, path, "id");
      String name = optionalString(f, path, "name", "");
      String description = optionalString(f, path, "description", "");
      Throttle throttle = f.containsKey("throttle")
          ? throttle(f.get("throttle").getValueNode(), path + ".throttle") : null;
      Quota quota = f.containsKey("quota")
          ? quota(f.get("quota").getValueNode(), path + ".quota") : null;
      List<ApiStage> apiStages = new ArrayList<>();
      String stagesPath = path + ".api_stages";
      List<Node> stageNodes = f.containsKey("api_stages")
          ? sequence(f.get("api_stages").getValueNode(), stagesPath) : List.of();
      for (int j = 0; j < stageNodes.size(); j++) {
        String stagePath = stagesPath + "[" + j + "]";
        MappingNode stageMap = mapping(stageNodes.get(j), stagePath);
        Map<String, NodeTuple> sf = parser.fields(stageMap, stagePath, PLAN_STAGE_FIELDS);
        apiStages.add(new ApiStage(requiredString(sf, stageMap, stagePath, "api"),
            requiredString(sf, stageMap, stagePath, "stage"), methods(sf.get("methods"),
                stagePath)));
      }
      UsagePlan plan = new UsagePlan(id, name, description, throttle, quota, apiStages, true);
      try {
        PlanRules.checkPlan(path, plan, account);
      } catch (InvalidPlanException e) {
        throw error(e);
      }
      Integer first = positions.putIfAbsent(id, i);
      if (first != null) {
        throw parser.error(f.get("id").getValueNode(), path + ".id", "duplicate plan id '" + id
            + "' (first at usage_plans[" + first + "])");
      }
      plans.put(id, plan);
    }
    return plans;
  }

  private Map<String, ApiKey> keys(NodeTuple tuple, Map<String, UsagePlan> plans)
      throws ConfigException {
    Map<String, ApiKey> keys = new LinkedHashMap<>();
    Map<String, Integer> idPositions = new HashMap<>();
    Map<String, Integer> hashPositions = new HashMap<>();
    List<Node> list = tuple == null ? List.of() : sequence(tuple.getValueNode(), "api_keys");
    for (int i = 0; i < list.size(); i++) {
      String path = "api_keys[" + i + "]";
      MappingNode map = mapping(list.get(i), path);
      Map<String, NodeTuple> f = parser.fields(map, path, KEY_FIELDS);
      String id = requiredString(f, map, path, "id");
      try {
        PlanRules.checkId(path + ".id", id);
      } catch (InvalidPlanException e) {
        throw error(e);
      }
      Integer firstId = idPositions.putIfAbsent(id, i);
      if (firstId != null) {
        throw parser.error(f.get("id").getValueNode(), path + ".id", "duplicate key id '" + id
            + "' (first at api_keys[" + firstId + "])");
      }
      String name = optionalString(f, path, "name", id);
      boolean enabled = !f.containsKey("enabled")
          || parser.bool(f.get("enabled").getValueNode(), path + ".enabled");

      String hash;
      String hashField;
      Node hashNode;
      if (f.containsKey("hash") && f.containsKey("value")) {
        throw parser.error(f.get("value").getKeyNode(), path,
            "exactly one of hash or value is required, found both");
      } else if (f.containsKey("hash")) {
        hashField = path + ".hash";
        hashNode = f.get("hash").getValueNode();
        hash = parser.string(hashNode, hashField);
        if (!HASH.matcher(hash).matches()) {
          // The value is not echoed: a key's value pasted here by mistake must not reach a log.
          throw parser.error(hashNode, hashField, "expected 64 lower-case hex characters (the "
              + "SHA-256 of the key's value), found " + (hash.length() == 64
                  ? "other characters" : hash.length() + " characters"));
        }
      } else if (f.containsKey("value")) {
        hashField = path + ".value";
        hashNode = f.get("value").getValueNode();
        String value = parser.string(hashNode, hashField);
        if (value.length() < ApiKeys.MIN_IMPORTED_LENGTH || value.length() > ApiKeys.MAX_LENGTH) {
          throw parser.error(hashNode, hashField, "must be " + ApiKeys.MIN_IMPORTED_LENGTH
              + " to " + ApiKeys.MAX_LENGTH + " characters, found " + value.length());
        }
        hash = ApiKeys.hash(value);
      } else {
        throw parser.error(map, path, "exactly one of hash or value is required, found neither");
      }
      Integer firstHash = hashPositions.putIfAbsent(hash, i);
      if (firstHash != null) {
        throw parser.error(hashNode, hashField, "the same key as api_keys[" + firstHash + "]");
      }

      Set<String> planIds = new LinkedHashSet<>();
      String plansPath = path + ".plans";
      if (f.containsKey("plans")) {
        Node plansNode = f.get("plans").getValueNode();
        nodes.put(plansPath, plansNode);
        List<Node> ids = sequence(plansNode, plansPath);
        for (int j = 0; j < ids.size(); j++) {
          String planId = parser.string(ids.get(j), plansPath + "[" + j + "]");
          if (!planIds.add(planId)) {
            throw parser.error(ids.get(j), plansPath + "[" + j + "]", "plan '" + planId
                + "' is listed twice");
          }
        }
      }
      try {
        PlanRules.checkKeyPlans(plansPath, planIds, plans);
      } catch (InvalidPlanException e) {
        throw error(e);
      }
      keys.put(hash, new ApiKey(id, name, hash, enabled, planIds, Instant.EPOCH, true));
    }
    return keys;
  }

  private Throttle throttle(Node node, String path) throws ConfigException {
    MappingNode map = mapping(node, path);
    Map<String, NodeTuple> f = parser.fields(map, path, THROTTLE_FIELDS);
    double rate = number(required(f, map, path, "rate"), path + ".rate");
    long burst = whole(required(f, map, path, "burst"), path + ".burst");
    Throttle throttle = new Throttle(rate, burst);
    try {
      PlanRules.checkThrottle(path, throttle);
    } catch (InvalidPlanException e) {
      throw error(e);
    }
    return throttle;
  }

  private Quota quota(Node node, String path) throws ConfigException {
    MappingNode map = mapping(node, path);
    Map<String, NodeTuple> f = parser.fields(map, path, QUOTA_FIELDS);
    long limit = whole(required(f, map, path, "limit"), path + ".limit");
    if (!f.containsKey("period")) {
      throw parser.error(map, path + ".period",
          "required field is missing (expected DAY, WEEK or MONTH)");
    }
    Node periodNode = required(f, map, path, "period");
    String periodText = parser.string(periodNode, path + ".period");
    int offset = 0;
    if (f.containsKey("offset")) {
      Node offsetNode = f.get("offset").getValueNode();
      long value = whole(offsetNode, path + ".offset");
      // Out of int range is out of every period's range; PlanRules reports it with the period.
      offset = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, value));
    }
    String zoneText = f.containsKey("time_zone")
        ? parser.string(remember(path + ".time_zone", f.get("time_zone").getValueNode()),
            path + ".time_zone") : "";
    try {
      ZoneId zone = PlanRules.parseZone(path + ".time_zone", zoneText);
      Quota quota = new Quota(limit, PlanRules.parsePeriod(path + ".period", periodText), offset,
          zone);
      PlanRules.checkQuota(path, quota);
      return quota;
    } catch (InvalidPlanException e) {
      throw error(e);
    }
  }

  /** A mapping of {@code "METHOD /route"} to throttle, in file order. */
  private Map<String, Throttle> methods(NodeTuple tuple, String parentPath)
      throws ConfigException {
    Map<String, Throttle> methods = new LinkedHashMap<>();
    if (tuple != null) {
      String path = parentPath + ".methods";
      Node node = tuple.getValueNode();
      if (!isNull(node)) {
        collectMethods(mapping(node, path), parentPath, methods, new HashMap<>());
      }
    }
    return methods;
  }

  private void collectMethods(MappingNode map, String parentPath, Map<String, Throttle> out,
      Map<String, Node> seen) throws ConfigException {
    List<Node> merges = new ArrayList<>();
    Map<String, Throttle> own = new LinkedHashMap<>();
    for (NodeTuple t : map.getValue()) {
      if (!(t.getKeyNode() instanceof ScalarNode k)) {
        throw parser.error(t.getKeyNode(), parentPath + ".methods",
            "method keys must be strings");
      }
      if (k.getTag().equals(Tag.MERGE)) {
        Node source = t.getValueNode();
        if (source instanceof SequenceNode seq) {
          merges.addAll(seq.getValue());
        } else {
          merges.add(source);
        }
        continue;
      }
      String key = k.getValue();
      String path = PlanRules.methodField(parentPath, key);
      Node first = seen.putIfAbsent(key, k);
      if (first != null) {
        throw parser.error(k, path, "duplicate method, first set on line "
            + ConfigLoader.line(first));
      }
      remember(path, k);
      try {
        PlanRules.checkMethodKey(path, key);
      } catch (InvalidPlanException e) {
        throw error(e);
      }
      own.put(key, throttle(t.getValueNode(), path));
    }
    out.putAll(own);
    for (Node source : merges) {
      // Merged methods fill in what this mapping does not set, as merged fields do.
      Map<String, Throttle> merged = new LinkedHashMap<>();
      collectMethods(mapping(source, parentPath + ".methods.<<"), parentPath, merged,
          new HashMap<>());
      for (Map.Entry<String, Throttle> e : merged.entrySet()) {
        out.putIfAbsent(e.getKey(), e.getValue());
      }
    }
  }

  /** An empty value ({@code account:} with nothing after it), read as an empty section. */
  private static boolean isNull(Node node) {
    return node instanceof ScalarNode s && s.getTag().equals(Tag.NULL);
  }

  private MappingNode mapping(Node node, String path) throws ConfigException {
    return parser.mapping(remember(path, node), path);
  }

  private List<Node> sequence(Node node, String path) throws ConfigException {
    return parser.sequence(remember(path, node), path);
  }

  private Node required(Map<String, NodeTuple> f, Node parent, String path, String name)
      throws ConfigException {
    NodeTuple t = f.get(name);
    if (t == null) {
      throw parser.error(parent, path + "." + name, "required field is missing");
    }
    return remember(path + "." + name, t.getValueNode());
  }

  private String requiredString(Map<String, NodeTuple> f, Node parent, String path, String name)
      throws ConfigException {
    return parser.string(required(f, parent, path, name), path + "." + name);
  }

  private String optionalString(Map<String, NodeTuple> f, String path, String name,
      String fallback) throws ConfigException {
    NodeTuple t = f.get(name);
    return t == null ? fallback : parser.string(remember(path + "." + name, t.getValueNode()),
        path + "." + name);
  }

  /** A rate: an integer or decimal YAML number ({@code .inf} and {@code .nan} included). */
  private double number(Node node, String path) throws ConfigException {
    if (node instanceof ScalarNode s
        && (s.getTag().equals(Tag.INT) || s.getTag().equals(Tag.FLOAT))) {
      String text = s.getValue().replace("_", "");
      String lower = text.toLowerCase(java.util.Locale.ROOT);
      if (lower.endsWith(".inf")) {
        return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
      }
      if (lower.equals(".nan")) {
        return Double.NaN;
      }
      try {
        return Double.parseDouble(text);
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    throw parser.error(node, path, "expected a number, found " + ConfigLoader.FileParser
        .describe(node));
  }

  private long whole(Node node, String path) throws ConfigException {
    if (node instanceof ScalarNode s && s.getTag().equals(Tag.INT)) {
      try {
        return Long.parseLong(s.getValue().replace("_", ""));
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    throw parser.error(node, path, "expected a whole number, found " + ConfigLoader.FileParser
        .describe(node));
  }

  private Node remember(String path, Node node) {
    nodes.putIfAbsent(path, node);
    return node;
  }

  /**
   * A {@link PlanRules} error as a config error, on the line of the deepest field read whose path
   * starts its field ({@code usage_plans[0].throttle.rate} is on the line of that rate).
   */
  private ConfigException error(InvalidPlanException e) {
    String field = e.field();
    Node best = null;
    int bestLength = -1;
    for (Map.Entry<String, Node> n : nodes.entrySet()) {
      String path = n.getKey();
      if (path.length() > bestLength && (field.equals(path) || field.startsWith(path + ".")
          || field.startsWith(path + "["))) {
        best = n.getValue();
        bestLength = path.length();
      }
    }
    return parser.error(best, field, e.reason());
  }
}
