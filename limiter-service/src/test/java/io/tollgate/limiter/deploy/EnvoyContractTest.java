package io.tollgate.limiter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.GsonBuilder;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.NodeClients;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The contract between deploy/envoy/envoy.yaml and deploy/envoy/rules.yaml, checked by a second,
 * independent gRPC implementation. No Envoy binary runs on these machines, so this test reads
 * envoy.yaml, derives the descriptors its routes' rate_limits actions produce for sample
 * requests (remote_address, request_headers, generic_key, as Envoy documents them), and has a
 * Node.js @grpc/grpc-js client (deploy/envoy/contract) send them to a limiter running
 * rules.yaml, checking every answer against a model of the limits.
 */
class EnvoyContractTest {

  /** Tollgate's default gRPC port, which envoy.yaml's tollgate cluster must use. */
  private static final int GRPC_PORT = 8081;

  /** The limits of rules.yaml this test expects, by descriptor ("key=value,key=value"). */
  private record Limit(int requestsPerUnit, String unit) {}

  private static Limit limitFor(List<String[]> descriptor) {
    String first = descriptor.get(0)[0];
    if (descriptor.size() == 1 && first.equals("remote_address")) {
      return new Limit(20, "SECOND");
    }
    if (descriptor.size() == 1 && first.equals("generic_key")
        && descriptor.get(0)[1].equals("checkout")) {
      return new Limit(5, "MINUTE");
    }
    if (descriptor.size() == 2 && first.equals("api_key")
        && descriptor.get(1)[0].equals("method")) {
      return descriptor.get(1)[1].equals("POST") ? new Limit(2, "MINUTE")
          : new Limit(1000, "HOUR");
    }
    return null;
  }

  /** A request as Envoy sees it. */
  private record Request(String method, String path, String clientAddress,
      Map<String, String> headers) {}

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) {
    return (List<Object>) o;
  }

  private static Map<String, Object> envoyYaml() throws IOException {
    return map(new Yaml().load(Files.readString(Deploy.path("envoy/envoy.yaml"))));
  }

  private static Map<String, Object> connectionManager(Map<String, Object> envoy) {
    Map<String, Object> listener = map(list(map(envoy.get("static_resources")).get("listeners"))
        .get(0));
    Map<String, Object> chain = map(list(listener.get("filter_chains")).get(0));
    return map(map(list(chain.get("filters")).get(0)).get("typed_config"));
  }

  @Test
  void theRateLimitFilterIsWiredToATollgateCluster() throws Exception {
    Map<String, Object> envoy = envoyYaml();
    Map<String, Object> hcm = connectionManager(envoy);
    Map<String, Object> filter = null;
    for (Object f : list(hcm.get("http_filters"))) {
      if ("envoy.filters.http.ratelimit".equals(map(f).get("name"))) {
        filter = map(map(f).get("typed_config"));
      }
    }
    assertNotNull(filter, "no envoy.filters.http.ratelimit filter");
    assertEquals("envoy", filter.get("domain"));
    assertEquals(new Yaml().load(Files.readString(Deploy.path("envoy/rules.yaml")))
        instanceof Map<?, ?> m ? m.get("domain") : null, filter.get("domain"),
        "the filter's domain is rules.yaml's");
    assertTrue(filter.get("timeout") instanceof String t && t.endsWith("s"), "timeout");
    assertTrue(filter.get("failure_mode_deny") instanceof Boolean, "failure_mode_deny");
    assertEquals("DRAFT_VERSION_03", filter.get("enable_x_ratelimit_headers"));
    Map<String, Object> service = map(filter.get("rate_limit_service"));
    assertEquals("V3", service.get("transport_api_version"));
    String cluster = (String) map(map(service.get("grpc_service")).get("envoy_grpc"))
        .get("cluster_name");
    boolean found = false;
    for (Object c : list(map(envoy.get("static_resources")).get("clusters"))) {
      if (cluster.equals(map(c).get("name"))) {
        found = true;
        String text = c.toString();
        assertTrue(text.contains("http2_protocol_options"), "gRPC needs HTTP/2: " + text);
        assertTrue(text.contains("port_value=" + GRPC_PORT), "Tollgate's gRPC port: " + text);
      }
    }
    assertTrue(found, "no cluster " + cluster);
  }

  /** The descriptors Envoy sends for a request, from envoy.yaml's first matching route. */
  private static List<List<String[]>> descriptors(Map<String, Object> envoy, Request r) {
    Map<String, Object> vhost = map(list(map(connectionManager(envoy).get("route_config"))
        .get("virtual_hosts")).get(0));
    assertTrue(vhost.get("rate_limits") == null, "virtual-host rate_limits are not modelled");
    for (Object o : list(vhost.get("routes"))) {
      Map<String, Object> route = map(o);
      String prefix = (String) map(route.get("match")).get("prefix");
      if (prefix == null || !r.path().startsWith(prefix)) {
        continue;
      }
      List<List<String[]>> out = new ArrayList<>();
      Object limits = map(route.get("route")).get("rate_limits");
      for (Object l : limits == null ? List.of() : list(limits)) {
        List<String[]> entries = new ArrayList<>();
        for (Object a : list(map(l).get("actions"))) {
          Map<String, Object> action = map(a);
          String[] entry;
          if (action.containsKey("remote_address")) {
            entry = new String[] {"remote_address", r.clientAddress()};
          } else if (action.containsKey("generic_key")) {
            Map<String, Object> g = map(action.get("generic_key"));
            entry = new String[] {(String) g.getOrDefault("descriptor_key", "generic_key"),
                (String) g.get("descriptor_value")};
          } else if (action.containsKey("request_headers")) {
            Map<String, Object> h = map(action.get("request_headers"));
            assertTrue(h.get("skip_if_absent") == null, "skip_if_absent is not modelled");
            String name = (String) h.get("header_name");
            String value = name.equals(":method") ? r.method()
                : name.equals(":path") ? r.path() : r.headers().get(name);
            // Envoy: an action that finds nothing drops the whole descriptor.
            entry = value == null ? null : new String[] {(String) h.get("descriptor_key"), value};
          } else {
            fail("action not modelled by this test: " + action);
            return null;
          }
          if (entry == null) {
            entries = null;
            break;
          }
          entries.add(entry);
        }
        if (entries != null) {
          out.add(entries);
        }
      }
      return out;
    }
    fail("no route for " + r.path());
    return null;
  }

  /** A case for the Node client: the request, and the expected answer of each of n calls. */
  private static Map<String, Object> scenario(String name, Map<String, Object> envoy, Request r,
      int calls, Map<String, Integer> used) {
    List<List<String[]>> descriptors = descriptors(envoy, r);
    List<Object> wire = new ArrayList<>();
    for (List<String[]> d : descriptors) {
      List<Object> entries = new ArrayList<>();
      for (String[] e : d) {
        entries.add(Map.of("key", e[0], "value", e[1]));
      }
      wire.add(Map.of("entries", entries));
    }
    List<Object> expect = new ArrayList<>();
    for (int c = 0; c < calls; c++) {
      // The model: a call passes when every limit has a unit left; a denied call takes nothing.
      boolean over = false;
      for (List<String[]> d : descriptors) {
        Limit l = limitFor(d);
        over |= l != null && used.getOrDefault(key(d), 0) >= l.requestsPerUnit();
      }
      List<Object> statuses = new ArrayList<>();
      for (List<String[]> d : descriptors) {
        Limit l = limitFor(d);
        if (l == null) {
          statuses.add(Map.of("code", "OK"));
          continue;
        }
        int u = used.getOrDefault(key(d), 0);
        boolean denied = u >= l.requestsPerUnit();
        if (!over) {
          used.put(key(d), u + 1);
        }
        statuses.add(Map.of("code", denied ? "OVER_LIMIT" : "OK",
            "requests_per_unit", l.requestsPerUnit(), "unit", l.unit(),
            "limit_remaining", denied ? 0 : l.requestsPerUnit() - u - (over ? 0 : 1)));
      }
      expect.add(Map.of("overall_code", over ? "OVER_LIMIT" : "OK", "statuses", statuses));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("name", name);
    out.put("request", Map.of("domain", "envoy", "descriptors", wire));
    out.put("expect", expect);
    return out;
  }

  private static String key(List<String[]> d) {
    StringBuilder sb = new StringBuilder();
    for (String[] e : d) {
      sb.append(e[0]).append('=').append(e[1]).append(',');
    }
    return sb.toString();
  }

  @Test
  void aGrpcJsClientSendingEnvoysDescriptorsGetsTheExpectedAnswers() throws Exception {
    NodeClients node = NodeClients.get();
    Path script;
    try (InputStream in = Files.newInputStream(Deploy.path("envoy/contract/rls-contract.js"))) {
      script = node.script("rls-contract.js", in);
    }
    Path dir = Files.createDirectories(Path.of("target", "envoy-contract").toAbsolutePath());

    Map<String, Object> envoy = envoyYaml();
    Map<String, Integer> used = new HashMap<>();
    List<Object> cases = List.of(
        scenario("reads with an API key", envoy, new Request("GET", "/pets/1", "192.0.2.10",
            Map.of("x-api-key", "key-read")), 3, used),
        scenario("writes with an API key", envoy, new Request("POST", "/pets", "192.0.2.11",
            Map.of("x-api-key", "key-write")), 4, used),
        scenario("checkout without a key", envoy, new Request("POST", "/checkout", "192.0.2.12",
            Map.of()), 7, used),
        scenario("one address past its limit", envoy, new Request("GET", "/pets", "192.0.2.13",
            Map.of()), 22, used));
    Path casesFile = dir.resolve("cases.json");
    Files.writeString(casesFile, new GsonBuilder().setPrettyPrinting().create().toJson(cases));

    try (InJvmLimiter limiter = InJvmLimiter.start(Deploy.path("envoy/rules.yaml"),
        new FakeClock())) {
      NodeClients.Result run = node.run(120, script, "127.0.0.1:" + limiter.grpcPort(),
          casesFile.toString(), node.protos().toString());
      assertEquals(0, run.code(), "rls-contract.js failed:\n" + run.output());
      String out = run.output();
      assertTrue(out.contains("36 calls in 4 cases as expected"), out);
      assertTrue(out.contains("not ok") == false, out);
      // The model itself saw denials of every kind: a write, the checkout and an address.
      String json = Files.readString(casesFile);
      assertTrue(json.split("OVER_LIMIT", -1).length > 6, json);
    }
  }
}
