package io.tollgate.limiter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Every metric deploy/grafana's dashboard queries is one a running limiter exports. */
class GrafanaDashboardTest {

  /** Metric names in PromQL: ours all start with one of these prefixes. */
  private static final Pattern METRIC = Pattern.compile(
      "\\b((?:ratelimit|tollgate|jvm|process|system|gateway)_[A-Za-z0-9_]+)\\b");

  private static List<String> expressions() throws Exception {
    JsonObject dashboard = JsonParser.parseString(Files.readString(
        Deploy.path("grafana/tollgate-dashboard.json"))).getAsJsonObject();
    List<String> out = new ArrayList<>();
    collect(dashboard.get("panels"), out);
    return out;
  }

  private static void collect(JsonElement e, List<String> out) {
    if (e.isJsonArray()) {
      e.getAsJsonArray().forEach(x -> collect(x, out));
    } else if (e.isJsonObject()) {
      for (var entry : e.getAsJsonObject().entrySet()) {
        if (entry.getKey().equals("expr")) {
          out.add(entry.getValue().getAsString());
        } else {
          collect(entry.getValue(), out);
        }
      }
    }
  }

  private static Set<String> queried(boolean adapter) throws Exception {
    Set<String> names = new TreeSet<>();
    for (String expr : expressions()) {
      Matcher m = METRIC.matcher(expr);
      while (m.find()) {
        if (m.group(1).startsWith("gateway_") == adapter) {
          names.add(m.group(1));
        }
      }
    }
    return names;
  }

  @Test
  void everyLimiterMetricQueriedIsExported() throws Exception {
    Set<String> wanted = queried(false);
    assertTrue(wanted.size() >= 12, "too few metrics found in the dashboard: " + wanted);
    try (InJvmLimiter limiter = InJvmLimiter.start(Deploy.path("nginx/rules.yaml"),
        new FakeClock())) {
      // Decisions of every kind, so that the per-rule and per-result series exist.
      for (int i = 0; i < 12; i++) {
        limiter.get("/check?domain=nginx&descriptor=remote_address:=192.0.2.1");
      }
      limiter.post("/json", "{\"domain\":\"nginx\",\"descriptors\":[{\"entries\":"
          + "[{\"key\":\"remote_address\",\"value\":\"192.0.2.2\"}]}]}");
      limiter.post("/v1/check", "{}");
      Set<String> exported = new TreeSet<>();
      for (String line : limiter.get("/metrics").body().split("\n")) {
        if (!line.isEmpty() && !line.startsWith("#")) {
          exported.add(line.split("[{ ]", 2)[0]);
        }
      }
      Set<String> missing = new TreeSet<>(wanted);
      missing.removeAll(exported);
      assertEquals(Set.of(), missing, "queried by the dashboard but not exported; exported: "
          + exported);
    }
  }

  @Test
  void everyAdapterMetricQueriedIsDeclaredByTheAdapter() throws Exception {
    Set<String> wanted = queried(true);
    assertEquals(Set.of("gateway_cache_requests_total"), wanted);
    Path sources = Deploy.path("../gateway-adapter/src/main/java").normalize();
    Assumptions.assumeTrue(Files.isDirectory(sources),
        "the gateway adapter has no sources in this tree yet: its metric names are unchecked");
    StringBuilder all = new StringBuilder();
    try (var files = Files.walk(sources)) {
      for (Path p : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        all.append(Files.readString(p));
      }
    }
    for (String name : wanted) {
      // Micrometer adds _total to counters in Prometheus.
      String base = name.endsWith("_total") ? name.substring(0, name.length() - 6) : name;
      assertTrue(all.indexOf('"' + base + '"') >= 0 || all.indexOf('"' + base.replace('_', '.')
          + '"') >= 0, "the adapter declares no meter " + base);
    }
  }
}
