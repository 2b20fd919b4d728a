package io.tollgate.gateway;

import io.tollgate.gateway.GatewayConfig.ApiKeySource;
import io.tollgate.gateway.GatewayConfig.CacheKeyParameter;
import io.tollgate.gateway.GatewayConfig.FailureMode;
import io.tollgate.gateway.GatewayConfig.Invalidation;
import io.tollgate.gateway.GatewayConfig.LimiterPolicy;
import io.tollgate.gateway.GatewayConfig.Route;
import io.tollgate.gateway.GatewayConfig.RouteCache;
import io.tollgate.gateway.GatewayConfig.ServerLimits;
import io.tollgate.gateway.GatewayConfig.Stage;
import io.tollgate.gateway.GatewayConfig.UnauthorizedCacheControl;
import io.tollgate.gateway.GatewayConfig.Upstream;
import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads the adapter's YAML config into a {@link GatewayConfig}. Every field is checked; an error
 * names the file, the line, the field's path and the problem, e.g. {@code adapter.yaml:7:
 * routes[0].upstreams[1]: not an http:// or h2c:// URI: 'localhost:9000'}. Unknown fields are
 * errors.
 */
public final class ConfigLoader {

  static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
      "OPTIONS", "ANY");

  /** The longest route template the limiter accepts. */
  static final int MAX_ROUTE_LENGTH = 1024;

  private final String file;
  private ApiKeySource keySource;

  private ConfigLoader(String file) {
    this.file = file;
  }

  /** Reads and checks one file. */
  public static GatewayConfig load(Path path) throws ConfigException {
    String text;
    try {
      text = Files.readString(path, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(path + ": cannot read: " + e.getMessage());
    }
    return parse(path.getFileName().toString(), text);
  }

  /** Checks YAML text; {@code file} only names it in errors. */
  public static GatewayConfig parse(String file, String text) throws ConfigException {
    ConfigLoader loader = new ConfigLoader(file);
    Node root;
    try {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).compose(new StringReader(text));
    } catch (MarkedYAMLException e) {
      int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
      throw new ConfigException(file + ":" + line + ": not valid YAML: " + e.getProblem());
    } catch (RuntimeException e) {
      throw new ConfigException(file + ": not valid YAML: " + e.getMessage());
    }
    if (root == null) {
      throw new ConfigException(file + ": empty config");
    }
    return loader.config(root);
  }

  private GatewayConfig config(Node root) throws ConfigException {
    Map<String, Node> top = map(root, "", Set.of("api", "api_key", "server", "limiter",
        "cache_invalidation", "stages", "routes"));
    String api = required(top, root, "", "api");
    if (!api.matches("[A-Za-z0-9_.-]{1,128}")) {
      throw error(top.get("api"), "api", "must be 1 to 128 letters, digits, '.', '_' or '-'");
    }

    ApiKeySource keySource = new ApiKeySource("x-api-key", null);
    if (top.containsKey("api_key")) {
      Map<String, Node> m = map(top.get("api_key"), "api_key", Set.of("header", "query"));
      if (m.containsKey("header") == m.containsKey("query")) {
        throw error(top.get("api_key"), "api_key", "give exactly one of header or query");
      }
      keySource = m.containsKey("header")
          ? new ApiKeySource(string(m.get("header"), "api_key.header").toLowerCase(Locale.ROOT),
              null)
          : new ApiKeySource(null, string(m.get("query"), "api_key.query"));
    }

    long maxBody = 10L << 20;
    int maxHeader = 16 << 10;
    if (top.containsKey("server")) {
      Map<String, Node> m = map(top.get("server"), "server",
          Set.of("max_body_bytes", "max_header_bytes"));
      if (m.containsKey("max_body_bytes")) {
        maxBody = integer(m.get("max_body_bytes"), "server.max_body_bytes", 0, Long.MAX_VALUE);
      }
      if (m.containsKey("max_header_bytes")) {
        maxHeader = (int) integer(m.get("max_header_bytes"), "server.max_header_bytes", 1024,
            1 << 20);
      }
    }

    // A check normally takes well under a millisecond; the first one also opens the connection.
    LimiterPolicy limiter = new LimiterPolicy(FailureMode.FAIL_OPEN, 500, 5, 5_000);
    if (top.containsKey("limiter")) {
      Map<String, Node> m = map(top.get("limiter"), "limiter",
          Set.of("failure_mode", "deadline_ms", "circuit_breaker"));
      FailureMode mode = m.containsKey("failure_mode")
          ? failureMode(m.get("failure_mode"), "limiter.failure_mode") : limiter.failureMode();
      long deadline = m.containsKey("deadline_ms")
          ? integer(m.get("deadline_ms"), "limiter.deadline_ms", 1, 60_000) : 500;
      int failures = limiter.breakerFailures();
      long openMs = limiter.breakerOpenMillis();
      if (m.containsKey("circuit_breaker")) {
        Map<String, Node> cb = map(m.get("circuit_breaker"), "limiter.circuit_breaker",
            Set.of("failures", "open_ms"));
        if (cb.containsKey("failures")) {
          failures = (int) integer(cb.get("failures"), "limiter.circuit_breaker.failures", 1,
              1_000_000);
        }
        if (cb.containsKey("open_ms")) {
          openMs = integer(cb.get("open_ms"), "limiter.circuit_breaker.open_ms", 1, 3_600_000);
        }
      }
      limiter = new LimiterPolicy(mode, deadline, failures, openMs);
    }

    this.keySource = keySource;
    Invalidation invalidation = new Invalidation(true, null, null, Set.of());
    if (top.containsKey("cache_invalidation")) {
      String p = "cache_invalidation";
      Map<String, Node> m = map(top.get(p), p,
          Set.of("require_authorization", "header", "key_ids"));
      boolean require = !m.containsKey("require_authorization")
          || bool(m.get("require_authorization"), p + ".require_authorization");
      String header = null;
      String headerValue = null;
      if (m.containsKey("header")) {
        Map<String, Node> h = map(m.get("header"), p + ".header", Set.of("name", "value"));
        header = required(h, m.get("header"), p + ".header", "name").toLowerCase(Locale.ROOT);
        headerValue = required(h, m.get("header"), p + ".header", "value");
        if (headerValue.length() < 16) {
          throw error(h.get("value"), p + ".header.value", "must be at least 16 characters");
        }
      }
      Set<String> ids = new LinkedHashSet<>();
      if (m.containsKey("key_ids")) {
        List<Node> l = list(m.get("key_ids"), p + ".key_ids");
        for (int i = 0; i < l.size(); i++) {
          ids.add(string(l.get(i), p + ".key_ids[" + i + "]"));
        }
      }
      invalidation = new Invalidation(require, header, headerValue, Set.copyOf(ids));
    }

    List<Stage> stages = new ArrayList<>();
    if (!top.containsKey("stages")) {
      throw error(root, "stages", "missing (at least one stage is needed)");
    }
    List<Node> stageNodes = list(top.get("stages"), "stages");
    if (stageNodes.isEmpty()) {
      throw error(top.get("stages"), "stages", "at least one stage is needed");
    }
    for (int i = 0; i < stageNodes.size(); i++) {
      Stage s = stage(stageNodes.get(i), "stages[" + i + "]");
      for (Stage other : stages) {
        if (other.name().equals(s.name())) {
          throw error(stageNodes.get(i), "stages[" + i + "].name", "duplicate stage '" + s.name()
              + "'");
        }
        if (other.prefix().equals(s.prefix())) {
          throw error(stageNodes.get(i), "stages[" + i + "].prefix", "prefix '" + s.prefix()
              + "' is already stage " + other.name() + "'s");
        }
      }
      stages.add(s);
    }

    List<Route> routes = new ArrayList<>();
    if (!top.containsKey("routes")) {
      throw error(root, "routes", "missing");
    }
    List<Node> routeNodes = list(top.get("routes"), "routes");
    for (int i = 0; i < routeNodes.size(); i++) {
      Route r = route(routeNodes.get(i), "routes[" + i + "]");
      for (Route other : routes) {
        if (other.method().equals(r.method())
            && other.template().toString().equals(r.template().toString())) {
          throw error(routeNodes.get(i), "routes[" + i + "].route", "duplicate route '"
              + r.name() + "'");
        }
      }
      routes.add(r);
    }
    return new GatewayConfig(api, keySource, new ServerLimits(maxBody, maxHeader), limiter,
        invalidation, List.copyOf(stages), List.copyOf(routes));
  }

  private Stage stage(Node node, String path) throws ConfigException {
    Map<String, Node> m = map(node, path, Set.of("name", "prefix", "cache"));
    String name = required(m, node, path, "name");
    if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
      throw error(m.get("name"), path + ".name",
          "must be 1 to 64 letters, digits, '_' or '-'");
    }
    String prefix = m.containsKey("prefix") ? string(m.get("prefix"), path + ".prefix")
        : "/" + name;
    if (!prefix.matches("(/[A-Za-z0-9_.~-]+)+")) {
      throw error(m.get("prefix") == null ? node : m.get("prefix"), path + ".prefix",
          "must be one or more /segments, e.g. /prod");
    }
    boolean enabled = false;
    int ttl = GatewayConfig.DEFAULT_TTL_SECONDS;
    long capacity = 64L << 20;
    if (m.containsKey("cache")) {
      String p = path + ".cache";
      Map<String, Node> c = map(m.get("cache"), p, Set.of("enabled", "ttl_seconds",
          "capacity_mb"));
      enabled = c.containsKey("enabled") && bool(c.get("enabled"), p + ".enabled");
      if (c.containsKey("ttl_seconds")) {
        ttl = (int) integer(c.get("ttl_seconds"), p + ".ttl_seconds", 0,
            GatewayConfig.MAX_TTL_SECONDS);
      }
      if (c.containsKey("capacity_mb")) {
        double mb = number(c.get("capacity_mb"), p + ".capacity_mb");
        if (!(mb > 0 && mb <= 1_048_576)) {
          throw error(c.get("capacity_mb"), p + ".capacity_mb",
              "must be above 0 and at most 1048576");
        }
        capacity = (long) (mb * (1 << 20));
      }
    }
    return new Stage(name, prefix, enabled, ttl, capacity);
  }

  private Route route(Node node, String path) throws ConfigException {
    Map<String, Node> m = map(node, path, Set.of("route", "upstreams", "timeout_ms", "retries",
        "api_key_required", "cache", "failure_mode"));
    String text = required(m, node, path, "route").trim();
    int space = text.indexOf(' ');
    if (space < 0) {
      throw error(m.get("route"), path + ".route",
          "expected 'METHOD /path', e.g. 'GET /pets/{id}', got '" + text + "'");
    }
    String method = text.substring(0, space).toUpperCase(Locale.ROOT);
    if (!METHODS.contains(method)) {
      throw error(m.get("route"), path + ".route", "unknown method '" + text.substring(0, space)
          + "' (expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, ANY)");
    }
    PathTemplate template;
    try {
      template = PathTemplate.parse(text.substring(space + 1).trim());
    } catch (IllegalArgumentException e) {
      throw error(m.get("route"), path + ".route", e.getMessage());
    }
    // The limiter refuses (INVALID_ARGUMENT) a route it would be sent that it cannot accept.
    String limiterRoute = template.toString();
    if (!limiterRoute.startsWith("/") || limiterRoute.length() > MAX_ROUTE_LENGTH) {
      throw error(m.get("route"), path + ".route", "the path template must start with '/' and "
          + "have at most " + MAX_ROUTE_LENGTH + " characters (the limiter's limit), got "
          + limiterRoute.length());
    }
    if (!m.containsKey("upstreams")) {
      throw error(node, path + ".upstreams", "missing");
    }
    List<Node> ups = list(m.get("upstreams"), path + ".upstreams");
    if (ups.isEmpty()) {
      throw error(m.get("upstreams"), path + ".upstreams", "at least one upstream is needed");
    }
    List<Upstream> upstreams = new ArrayList<>();
    for (int i = 0; i < ups.size(); i++) {
      upstreams.add(upstream(ups.get(i), path + ".upstreams[" + i + "]"));
    }
    // AWS API Gateway's integration timeout.
    long timeout = m.containsKey("timeout_ms")
        ? integer(m.get("timeout_ms"), path + ".timeout_ms", 1, 3_600_000) : 29_000;
    int retries = m.containsKey("retries")
        ? (int) integer(m.get("retries"), path + ".retries", 0, 10) : 2;
    boolean keyRequired = m.containsKey("api_key_required")
        && bool(m.get("api_key_required"), path + ".api_key_required");
    RouteCache cache = new RouteCache(null, null, List.of(),
        UnauthorizedCacheControl.SUCCEED_WITH_RESPONSE_HEADER);
    if (m.containsKey("cache")) {
      cache = routeCache(m.get("cache"), path + ".cache", template);
    }
    FailureMode failureMode = m.containsKey("failure_mode")
        ? failureMode(m.get("failure_mode"), path + ".failure_mode") : null;
    return new Route(method + " " + template, method, template, List.copyOf(upstreams), timeout,
        retries, keyRequired, cache, failureMode);
  }

  private RouteCache routeCache(Node node, String path, PathTemplate template)
      throws ConfigException {
    Map<String, Node> c = map(node, path, Set.of("enabled", "ttl_seconds", "key_parameters",
        "unauthorized_cache_control"));
    Boolean enabled = c.containsKey("enabled") ? bool(c.get("enabled"), path + ".enabled") : null;
    Integer ttl = c.containsKey("ttl_seconds") ? (int) integer(c.get("ttl_seconds"),
        path + ".ttl_seconds", 0, GatewayConfig.MAX_TTL_SECONDS) : null;
    List<CacheKeyParameter> params = new ArrayList<>();
    if (c.containsKey("key_parameters")) {
      List<Node> l = list(c.get("key_parameters"), path + ".key_parameters");
      for (int i = 0; i < l.size(); i++) {
        String p = path + ".key_parameters[" + i + "]";
        String v = string(l.get(i), p);
        int dot = v.indexOf('.');
        String source = dot < 0 ? "" : v.substring(0, dot);
        String name = dot < 0 ? "" : v.substring(dot + 1);
        if (!Set.of("path", "query", "header").contains(source) || name.isEmpty()) {
          throw error(l.get(i), p, "expected path.NAME, query.NAME or header.NAME, got '" + v
              + "'");
        }
        if (source.equals("path") && !template.parameterNames().contains(name)) {
          throw error(l.get(i), p, "the route has no path parameter {" + name + "}");
        }
        if ((source.equals("header") && keySource.header() != null
            && name.equalsIgnoreCase(keySource.header()))
            || (source.equals("query") && name.equals(keySource.queryParameter()))) {
          throw error(l.get(i), p, "'" + v + "' is where the API key is read; the cache key "
              + "never contains the API key");
        }
        params.add(new CacheKeyParameter(source,
            source.equals("header") ? name.toLowerCase(Locale.ROOT) : name));
      }
    }
    UnauthorizedCacheControl ucc = UnauthorizedCacheControl.SUCCEED_WITH_RESPONSE_HEADER;
    if (c.containsKey("unauthorized_cache_control")) {
      String v = string(c.get("unauthorized_cache_control"), path + ".unauthorized_cache_control");
      try {
        ucc = UnauthorizedCacheControl.valueOf(v);
      } catch (IllegalArgumentException e) {
        throw error(c.get("unauthorized_cache_control"), path + ".unauthorized_cache_control",
            "unknown value '" + v + "' (expected FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER or "
            + "SUCCEED_WITHOUT_RESPONSE_HEADER)");
      }
    }
    return new RouteCache(enabled, ttl, List.copyOf(params), ucc);
  }

  private FailureMode failureMode(Node node, String path) throws ConfigException {
    String v = string(node, path);
    return switch (v) {
      case "fail_open" -> FailureMode.FAIL_OPEN;
      case "fail_closed" -> FailureMode.FAIL_CLOSED;
      default -> throw error(node, path, "unknown mode '" + v
          + "' (expected fail_open or fail_closed)");
    };
  }

  private Upstream upstream(Node node, String path) throws ConfigException {
    String v = string(node, path);
    URI uri;
    try {
      uri = URI.create(v);
    } catch (IllegalArgumentException e) {
      throw error(node, path, "not a URI: '" + v + "'");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("h2c")) || uri.getHost() == null
        || uri.getPort() <= 0 || !(uri.getRawPath() == null || uri.getRawPath().isEmpty()
        || uri.getRawPath().equals("/")) || uri.getRawQuery() != null) {
      throw error(node, path, "expected http://HOST:PORT or h2c://HOST:PORT, got '" + v + "'");
    }
    return new Upstream(scheme, uri.getHost(), uri.getPort());
  }

  // --- YAML node helpers: each names the field's path and line in its error. ---

  private Map<String, Node> map(Node node, String path, Set<String> allowed)
      throws ConfigException {
    if (!(node instanceof MappingNode mapping)) {
      throw error(node, path.isEmpty() ? "(top level)" : path, "expected a mapping");
    }
    Map<String, Node> m = new LinkedHashMap<>();
    for (NodeTuple t : mapping.getValue()) {
      if (!(t.getKeyNode() instanceof ScalarNode k)) {
        throw error(t.getKeyNode(), path, "keys must be plain strings");
      }
      String key = k.getValue();
      String field = path.isEmpty() ? key : path + "." + key;
      if (!allowed.contains(key)) {
        throw error(k, field, "unknown field (expected one of "
            + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
      }
      if (m.put(key, t.getValueNode()) != null) {
        throw error(k, field, "given twice");
      }
    }
    return m;
  }

  private List<Node> list(Node node, String path) throws ConfigException {
    if (!(node instanceof SequenceNode seq)) {
      throw error(node, path, "expected a list");
    }
    return seq.getValue();
  }

  private String required(Map<String, Node> m, Node parent, String path, String key)
      throws ConfigException {
    String field = path.isEmpty() ? key : path + "." + key;
    if (!m.containsKey(key)) {
      throw error(parent, field, "missing");
    }
    String v = string(m.get(key), field);
    if (v.isEmpty()) {
      throw error(m.get(key), field, "must not be empty");
    }
    return v;
  }

  private String string(Node node, String path) throws ConfigException {
    if (!(node instanceof ScalarNode s)) {
      throw error(node, path, "expected a string");
    }
    return s.getValue();
  }

  private long integer(Node node, String path, long min, long max) throws ConfigException {
    String v = string(node, path);
    long n;
    try {
      n = Long.parseLong(v.replace("_", ""));
    } catch (NumberFormatException e) {
      throw error(node, path, "expected a whole number, got '" + v + "'");
    }
    if (n < min || n > max) {
      throw error(node, path, n + " is out of range (" + min + " to " + max + ")");
    }
    return n;
  }

  private double number(Node node, String path) throws ConfigException {
    String v = string(node, path);
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw error(node, path, "expected a number, got '" + v + "'");
    }
  }

  private boolean bool(Node node, String path) throws ConfigException {
    String v = string(node, path);
    return switch (v) {
      case "true" -> true;
      case "false" -> false;
      default -> throw error(node, path, "expected true or false, got '" + v + "'");
    };
  }

  private ConfigException error(Node node, String path, String problem) {
    int line = node == null ? 0 : node.getStartMark().getLine() + 1;
    return new ConfigException(file + ":" + line + ": " + path + ": " + problem);
  }
}
