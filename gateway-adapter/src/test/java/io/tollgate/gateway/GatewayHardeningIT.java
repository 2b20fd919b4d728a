package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hardening of the adapter against hostile or broken clients: over-long keys, keys and secrets
 * leaking upstream, cache entries shared across methods, stalled uploads, keys on open routes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayHardeningIT {

  static final String SECRET = "invalidate-secret-0123456789";

  static final String ROOMY_KEY = "review-roomy-key-0123456789";
  static final String DAILY_KEY = "review-daily10-key-0123456789";
  static final String DISABLED_KEY = "review-disabled-key-0123456789";
  static final String OTHER_STAGE_KEY = "review-other-stage-key-0123456789";

  @TempDir
  static Path dir;
  static Processes.Proc limiter;
  static Processes.Proc adapter;
  static Processes.Proc queryAdapter;
  static TestUpstream upstream;
  static int port;
  static int queryPort;

  @BeforeAll
  static void start() throws Exception {
    Path limiterConfig = Files.createDirectories(dir.resolve("limiter"));
    Files.writeString(limiterConfig.resolve("plans.yaml"), """
        usage_plans:
          - id: roomy
            throttle: {rate: 1000, burst: 1000}
            quota: {limit: 100000, period: DAY}
            api_stages: [{api: petstore, stage: prod}]
          - id: daily10
            throttle: {rate: 1000, burst: 1000}
            quota: {limit: 10, period: DAY}
            api_stages: [{api: petstore, stage: prod}]
          - id: elsewhere
            throttle: {rate: 1000, burst: 1000}
            api_stages: [{api: petstore, stage: dev}]
        api_keys:
          - id: roomy
            value: %s
            plans: [roomy]
          - id: daily
            value: %s
            plans: [daily10]
          - id: disabled
            value: %s
            enabled: false
            plans: [roomy]
          - id: elsewhere
            value: %s
            plans: [elsewhere]
        """.formatted(ROOMY_KEY, DAILY_KEY, DISABLED_KEY, OTHER_STAGE_KEY));
    int grpc = Processes.freePort();
    int limiterHttp = Processes.freePort();
    limiter = new Processes.Proc("review-limiter", List.of("-jar",
        Processes.LIMITER_JAR.toString(), "--config", limiterConfig.toString(), "--grpc-port",
        Integer.toString(grpc), "--http-port", Integer.toString(limiterHttp), "--cluster-port",
        Integer.toString(Processes.freePort()), "--admin-token", "limiter-admin-token-0123456789",
        "--data-dir", dir.resolve("data").toString()));
    upstream = new TestUpstream(Processes.freePort());
    String up = "http://127.0.0.1:" + upstream.port();
    Path config = dir.resolve("adapter.yaml");
    Files.writeString(config, """
        api: petstore
        limiter: {failure_mode: fail_open, deadline_ms: 5000}
        cache_invalidation: {header: {name: x-cache-secret, value: SECRET}}
        stages:
          - name: prod
            cache: {enabled: true, ttl_seconds: 300, capacity_mb: 8}
        routes:
          - route: GET /pets/{id}
            upstreams: [UP]
            api_key_required: true
            cache: {enabled: false}
          - route: ANY /any/{id}
            upstreams: [UP]
            cache: {enabled: true, key_parameters: [path.id]}
          - route: POST /upload
            upstreams: [UP]
          - route: GET /open/{id}
            upstreams: [UP]
        """.replace("UP", up).replace("SECRET", SECRET));
    Path qconfig = dir.resolve("query-adapter.yaml");
    Files.writeString(qconfig, """
        api: petstore
        api_key: {query: api_key}
        limiter: {failure_mode: fail_closed, deadline_ms: 5000}
        stages: [{name: prod}]
        routes:
          - route: GET /q/{id}
            upstreams: [UP]
            api_key_required: true
        """.replace("UP", up));
    port = Processes.freePort();
    queryPort = Processes.freePort();
    int admin = Processes.freePort();
    int qadmin = Processes.freePort();
    adapter = Processes.adapter("review-adapter", config, port, admin, "127.0.0.1:" + grpc);
    queryAdapter = Processes.adapter("review-qadapter", qconfig, queryPort, qadmin,
        "127.0.0.1:" + grpc);
    limiter.awaitHealthy("http://127.0.0.1:" + limiterHttp + "/healthz", Duration.ofSeconds(120));
    adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
    queryAdapter.awaitHealthy("http://127.0.0.1:" + qadmin + "/healthz", Duration.ofSeconds(60));
    Processes.await("a first checked request", Duration.ofSeconds(30),
        () -> get(port, "/prod/pets/warmup", ROOMY_KEY).headers()
            .firstValue("x-ratelimit-limit").isPresent());
    // The query adapter is fail_closed: wait until its channel to the limiter is up.
    Processes.await("a first checked request (query key)", Duration.ofSeconds(30),
        () -> get(queryPort, "/prod/q/warmup?api_key=" + ROOMY_KEY, null).statusCode() == 200);
  }

  @AfterAll
  static void stop() throws Exception {
    Processes.closeAll(adapter, queryAdapter, limiter, upstream);
  }


  static HttpResponse<String> get(int p, String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p + path))
        .timeout(Duration.ofSeconds(20));
    if (key != null) {
      b.header("x-api-key", key);
    }
    return Processes.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> send(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(20));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body));
    return Processes.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** An unknown (here: over-long) key on a key-requiring route is 403, refused locally. */
  @Test
  @Order(1)
  void anOverLongKeyIsForbiddenNotWavedThrough() throws Exception {
    long before = upstream.served("/pets/1");
    HttpResponse<String> r = get(port, "/prod/pets/1", "k".repeat(300));
    assertEquals(403, r.statusCode(), "status " + r.statusCode() + " body " + r.body()
        + "; upstream reached " + (upstream.served("/pets/1") - before) + " time(s)");
  }

  /** A client must not be able to switch off the limiter for everyone. */
  @Test
  @Order(2)
  void overLongKeysDoNotOpenTheBreakerAndSuspendQuotas() throws Exception {
    for (int i = 0; i < 6; i++) {
      get(port, "/prod/pets/x", "k".repeat(300));
    }
    int ok = 0;
    int limited = 0;
    for (int i = 0; i < 15; i++) {
      int s = get(port, "/prod/pets/d" + i, DAILY_KEY).statusCode();
      if (s == 200) {
        ok++;
      } else if (s == 429) {
        limited++;
      }
    }
    assertTrue(ok <= 10 && limited >= 5, "a 10/day key got " + ok + " x 200 and " + limited
        + " x 429 in 15 requests");
  }

  /** The cache key is method + route + parameters: a GET must not get a POST's answer. */
  @Test
  @Order(3)
  void anAnyRouteWithCachingKeepsMethodsApart() throws Exception {
    HttpResponse<String> post = send("POST", "/prod/any/1", "created");
    assertEquals(200, post.statusCode(), post.body());
    HttpResponse<String> get = send("GET", "/prod/any/1", null);
    HttpResponse<String> del = send("DELETE", "/prod/any/1", null);
    assertEquals(3, upstream.served("/any/1"), "upstream saw " + upstream.served("/any/1")
        + " of POST, GET, DELETE; GET x-cache=" + get.headers().firstValue("x-cache")
        .orElse(null) + ", DELETE x-cache=" + del.headers().firstValue("x-cache").orElse(null));
  }

  /** The API key read from the query must not be forwarded upstream (the header one is not). */
  @Test
  @Order(4)
  void aQueryParameterKeyIsNotForwardedUpstream() throws Exception {
    HttpResponse<String> r = get(queryPort, "/prod/q/1?api_key=" + ROOMY_KEY + "&x=1", null);
    assertEquals(200, r.statusCode(), r.body());
    assertFalse(r.body().contains(ROOMY_KEY), "upstream saw the key: " + r.body());
  }

  /** A client that never finishes its body must not hold a connection and a request forever. */
  @Test
  @Order(5)
  void aStalledUploadIsEventuallyCutOff() throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(25_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST /prod/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n"
          + "0123456789").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      boolean closedOrAnswered;
      try {
        int b = in.read();
        closedOrAnswered = true;
        if (b >= 0) {
          got.write(b);
        }
      } catch (SocketTimeoutException stillOpen) {
        closedOrAnswered = false;
      } catch (java.net.SocketException reset) {
        closedOrAnswered = true;
      }
      assertTrue(closedOrAnswered, "after 25 s the adapter neither answered nor closed");
    }
  }

  /** A route that does not require a key ignores a presented one, as AWS does: no 403. */
  @Test
  @Order(6)
  void anUnknownKeyOnAnOpenRouteIsIgnored() throws Exception {
    HttpResponse<String> r = get(port, "/prod/open/1", "no-such-key-0123456789");
    assertEquals(200, r.statusCode(), r.body());
    HttpResponse<String> tooLong = get(port, "/prod/open/2", "k".repeat(300));
    assertEquals(200, tooLong.statusCode(), tooLong.body());
  }

  /** The cache-invalidation secret is the adapter's: the upstream never sees it. */
  @Test
  @Order(7)
  void theInvalidationSecretIsNotForwardedUpstream() throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/prod/open/3")).header("x-cache-secret", SECRET).header("x-other", "kept")
        .header("Cache-Control", "max-age=0").timeout(Duration.ofSeconds(20)).build();
    HttpResponse<String> r = Processes.HTTP.send(req, HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    var seen = upstream.lastHeaders.get("/open/3");
    assertTrue(seen.keySet().stream().anyMatch(k -> k.equalsIgnoreCase("x-other")), "" + seen);
    assertFalse(seen.keySet().stream().anyMatch(k -> k.equalsIgnoreCase("x-cache-secret")),
        "upstream saw the secret: " + seen);
  }

  /**
   * The upstream is told the key id by the adapter alone: a client's own {@code X-Api-Key-Id}
   * is dropped on routes without a key, and replaced on routes with one.
   */
  @Test
  @Order(8)
  void aClientsOwnApiKeyIdNeverReachesTheUpstream() throws Exception {
    // POST /upload: no key, never cached, so the upstream sees this very request.
    HttpResponse<String> open = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + port + "/prod/upload")).header("X-Api-Key-Id", "roomy")
        .POST(HttpRequest.BodyPublishers.ofString("x")).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, open.statusCode(), open.body());
    var seen = upstream.lastHeaders.get("/upload");
    assertFalse(seen.keySet().stream().anyMatch(k -> k.equalsIgnoreCase("x-api-key-id")),
        "upstream saw a client's X-Api-Key-Id: " + seen);

    HttpResponse<String> keyed = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + port + "/prod/pets/forged")).header("x-api-key", ROOMY_KEY)
        .header("X-Api-Key-Id", "daily").timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, keyed.statusCode(), keyed.body());
    var ids = upstream.lastHeaders.get("/pets/forged").entrySet().stream()
        .filter(e -> e.getKey().equalsIgnoreCase("x-api-key-id"))
        .flatMap(e -> e.getValue().stream()).toList();
    assertEquals(List.of("roomy"), ids);
  }

  /**
   * Every key failure looks the same to the client: missing, unknown, disabled, in no plan for
   * this stage, over-long. Same status, body and headers (but the request id), so a caller
   * cannot probe which keys exist.
   */
  @Test
  @Order(9)
  void everyKeyFailureAnswersTheSame403() throws Exception {
    HttpResponse<String> missing = get(port, "/prod/pets/k", null);
    List<HttpResponse<String>> others = List.of(
        get(port, "/prod/pets/k", "review-unknown-key-0123456789"),
        get(port, "/prod/pets/k", DISABLED_KEY),
        get(port, "/prod/pets/k", OTHER_STAGE_KEY),
        get(port, "/prod/pets/k", "k".repeat(300)));
    assertEquals(403, missing.statusCode());
    assertEquals("{\"message\":\"Forbidden\"}", missing.body());
    for (HttpResponse<String> r : others) {
      assertEquals(missing.statusCode(), r.statusCode());
      assertEquals(missing.body(), r.body());
      assertEquals(withoutRequestId(missing), withoutRequestId(r));
    }
    assertEquals(0, upstream.served("/pets/k"));
  }

  static java.util.Map<String, List<String>> withoutRequestId(HttpResponse<?> r) {
    java.util.Map<String, List<String>> m = new java.util.TreeMap<>(r.headers().map());
    m.remove("x-request-id");
    return m;
  }
}
