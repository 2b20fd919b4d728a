package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequestWriter;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.SessionProtocol;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with real processes on 127.0.0.1: the packaged limiter jar (with a plans file and an
 * admin token), the packaged adapter jar, a real upstream (JDK HttpServer) and real clients (JDK
 * HttpClient, raw sockets). Every test uses keys of its own, so no quota needs to roll over.
 */
class GatewayEndToEndIT {

  static final String TOKEN = "limiter-admin-token-0123456789";
  static final String FLUSH_TOKEN = "adapter-admin-token-0123456789";
  static final String DECLARED_KEY = "declared-key-value-0123456789";
  static final AtomicInteger KEYS = new AtomicInteger();

  @TempDir
  static Path dir;
  static Processes.Proc limiter;
  static Processes.Proc adapter;
  static TestUpstream upstream;
  static int limiterHttp;
  static int port;
  static int adminPort;

  @BeforeAll
  static void start() throws Exception {
    assertTrue(Files.isRegularFile(Processes.LIMITER_JAR), Processes.LIMITER_JAR
        + " missing: build the reactor (mvn verify from the root)");
    assertTrue(Files.isRegularFile(Processes.ADAPTER_JAR), Processes.ADAPTER_JAR + " missing");
    Path limiterConfig = Files.createDirectories(dir.resolve("limiter"));
    Files.writeString(limiterConfig.resolve("plans.yaml"), """
        usage_plans:
          - id: roomy
            throttle: {rate: 1000, burst: 1000}
            quota: {limit: 100000, period: DAY}
            api_stages: [{api: petstore, stage: prod}, {api: petstore, stage: dev}]
          - id: daily10
            throttle: {rate: 1000, burst: 1000}
            quota: {limit: 10, period: DAY}
            api_stages: [{api: petstore, stage: prod}]
          - id: slow
            throttle: {rate: 0.01, burst: 2}
            quota: {limit: 1000, period: DAY}
            api_stages: [{api: petstore, stage: prod}]
        api_keys:
          - id: declared
            value: %s
            plans: [roomy]
        """.formatted(DECLARED_KEY));
    int grpc = Processes.freePort();
    limiterHttp = Processes.freePort();
    limiter = new Processes.Proc("limiter", List.of("-jar", Processes.LIMITER_JAR.toString(),
        "--config", limiterConfig.toString(), "--grpc-port", Integer.toString(grpc),
        "--http-port", Integer.toString(limiterHttp), "--cluster-port",
        Integer.toString(Processes.freePort()), "--admin-token", TOKEN, "--data-dir",
        dir.resolve("data").toString()));

    upstream = new TestUpstream(Processes.freePort());
    String up = "http://127.0.0.1:" + upstream.port();
    String dead = "http://127.0.0.1:" + Processes.freePort();
    Path config = dir.resolve("adapter.yaml");
    Files.writeString(config, """
        api: petstore
        server: {max_body_bytes: 100000, max_header_bytes: 8192}
        limiter: {failure_mode: fail_closed, deadline_ms: 5000}
        cache_invalidation: {require_authorization: true, key_ids: [declared]}
        stages:
          - name: prod
            cache: {enabled: true, ttl_seconds: 300, capacity_mb: 8}
          - name: dev
        routes:
          - route: GET /pets/{id}
            upstreams: [UP]
            api_key_required: true
            cache: {key_parameters: [path.id]}
          - route: GET /strict/{id}
            upstreams: [UP]
            api_key_required: true
            cache: {key_parameters: [path.id], unauthorized_cache_control: FAIL_WITH_403}
          - route: GET /status/{code}
            upstreams: [UP]
            api_key_required: true
            cache: {enabled: false}
          - route: GET /big
            upstreams: [UP]
            api_key_required: true
          - route: GET /echo
            upstreams: [UP]
            cache: {enabled: false}
          - route: POST /upload
            upstreams: [UP]
          - route: POST /upload/{id}
            upstreams: [UP]
            api_key_required: true
          - route: GET /slow
            upstreams: [UP]
            timeout_ms: 300
            cache: {enabled: false}
          - route: GET /dead
            upstreams: [DEAD]
            retries: 1
          - route: GET /pool/{id}
            upstreams: [DEAD, UP]
            retries: 1
            cache: {enabled: false}
        """.replace("UP", up).replace("DEAD", dead));
    port = Processes.freePort();
    adminPort = Processes.freePort();
    adapter = Processes.adapter("adapter", config, port, adminPort, "127.0.0.1:" + grpc,
        "--admin-token", FLUSH_TOKEN);
    limiter.awaitHealthy("http://127.0.0.1:" + limiterHttp + "/healthz", Duration.ofSeconds(120));
    adapter.awaitHealthy("http://127.0.0.1:" + adminPort + "/healthz", Duration.ofSeconds(60));
    // The first check opens the limiter's key cache and the gRPC connection.
    Processes.await("a first checked request", Duration.ofSeconds(30),
        () -> get("/prod/pets/warmup", DECLARED_KEY).statusCode() == 200);
  }

  @AfterAll
  static void stop() throws Exception {
    Processes.closeAll(adapter, limiter, upstream);
  }


  /** A fresh key in {@code plan}, created through the limiter's admin API. */
  static String newKey(String plan) throws Exception {
    String value = "test-key-" + plan + "-" + KEYS.incrementAndGet() + "-" + System.nanoTime();
    HttpResponse<String> r = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + limiterHttp + "/admin/keys"))
        .header("Authorization", "Bearer " + TOKEN)
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"k" + KEYS.get()
            + "\",\"planIds\":[\"" + plan + "\"],\"value\":\"" + value + "\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(201, r.statusCode(), r.body());
    return value;
  }

  static HttpResponse<String> get(String path, String key, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(20));
    if (key != null) {
      b.header("x-api-key", key);
    }
    if (headers.length > 0) {
      b.headers(headers);
    }
    return Processes.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static long remaining(HttpResponse<?> r) {
    return Long.parseLong(r.headers().firstValue("x-ratelimit-remaining").orElseThrow(
        () -> new AssertionError("no X-RateLimit-Remaining: " + r.headers().map())));
  }

  static String header(Map<String, List<String>> headers, String name) {
    for (Map.Entry<String, List<String>> e : headers.entrySet()) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return String.join(",", e.getValue());
      }
    }
    return null;
  }

  /** Sends raw bytes and reads until the server closes the connection. */
  static String raw(String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      int n;
      try {
        while ((n = in.read(buf)) >= 0) {
          all.write(buf, 0, n);
        }
      } catch (java.net.SocketException reset) {
        // a reset after the answer is fine
      }
      return all.toString(StandardCharsets.ISO_8859_1);
    }
  }

  // --- 1-5: the order of work ---

  @Test
  void proxiesWithRateLimitHeadersForwardingHeadersAndRequestId() throws Exception {
    String key = newKey("roomy");
    HttpResponse<String> r = get("/prod/pets/7", key);
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("\"path\":\"/pets/7\""), r.body());
    assertEquals("MISS", r.headers().firstValue("x-cache").orElse(null));
    assertTrue(r.headers().firstValue("x-request-id").orElse("").matches("[0-9a-f-]{36}"));
    assertEquals("\"throttle\";q=1000;w=1, \"quota\";q=100000;w=86400",
        r.headers().firstValue("ratelimit-policy").orElse(null));
    assertTrue(r.headers().firstValue("ratelimit").orElse("")
        .matches("\"throttle\";r=\\d+;t=\\d+, \"quota\";r=99999;t=\\d+"), r.headers().map()
        .toString());
    assertEquals("1000", r.headers().firstValue("x-ratelimit-limit").orElse(null));
    assertTrue(r.headers().firstValue("x-ratelimit-reset").isPresent());
    assertFalse(r.headers().firstValue("retry-after").isPresent());

    HttpResponse<String> e = get("/prod/echo?x=1", null, "X-Request-ID", "given-id-42",
        "X-Forwarded-For", "203.0.113.9");
    assertEquals(200, e.statusCode(), e.body());
    assertEquals("given-id-42", e.headers().firstValue("x-request-id").orElse(null));
    Map<String, List<String>> seen = upstream.lastHeaders.get("/echo");
    assertEquals("given-id-42", header(seen, "x-request-id"));
    assertEquals("203.0.113.9, 127.0.0.1", header(seen, "x-forwarded-for"));
    assertEquals("http", header(seen, "x-forwarded-proto"));
    assertEquals("127.0.0.1:" + upstream.port(), header(seen, "host"));
  }

  @Test
  void hopByHopHeadersAreNotForwardedAndTheApiKeyStaysHere() throws Exception {
    String key = newKey("roomy");
    String answer = raw("GET /prod/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Connection: close, X-Secret\r\nX-Secret: hop\r\nKeep-Alive: timeout=5\r\n"
        + "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nx-api-key: " + key + "\r\n"
        + "X-End-To-End: kept\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    Map<String, List<String>> seen = upstream.lastHeaders.get("/echo");
    assertEquals("kept", header(seen, "x-end-to-end"));
    assertNull(header(seen, "x-secret"), seen.toString());
    assertNull(header(seen, "keep-alive"), seen.toString());
    assertNull(header(seen, "proxy-authorization"), seen.toString());
    assertNull(header(seen, "x-api-key"), seen.toString());
    // /echo does not require a key: a presented one is ignored (not sent to the limiter, as in
    // AWS), so there is no key id to forward, and the key itself is still not forwarded.
    assertNull(header(seen, "x-api-key-id"), seen.toString());
  }

  @Test
  void unknownRouteWithAValidKeyIs404AndSpendsNothing() throws Exception {
    String key = newKey("daily10");
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = get("/prod/no/such/route", key);
      assertEquals(404, r.statusCode());
      assertEquals("{\"message\":\"Not Found\"}", r.body());
    }
    assertEquals(404, get("/nostage/pets/1", key).statusCode());
    HttpResponse<String> ok = get("/prod/pets/unknown-route-check", key);
    assertEquals(200, ok.statusCode());
    assertEquals(9, remaining(ok), "the 404s spent quota");
  }

  @Test
  void missingOrUnknownKeyIs403AndSpendsNothing() throws Exception {
    String key = newKey("daily10");
    HttpResponse<String> missing = get("/prod/pets/1", null);
    assertEquals(403, missing.statusCode());
    assertEquals("{\"message\":\"Forbidden\"}", missing.body());
    HttpResponse<String> unknown = get("/prod/pets/1", "no-such-key-0123456789abc");
    assertEquals(403, unknown.statusCode());
    assertEquals("{\"message\":\"Forbidden\"}", unknown.body());
    // A key of a plan that does not cover the dev stage is forbidden there.
    assertEquals(403, get("/dev/pets/1", key).statusCode());
    HttpResponse<String> ok = get("/prod/pets/forbidden-check", key);
    assertEquals(200, ok.statusCode());
    assertEquals(9, remaining(ok));
  }

  @Test
  void throttledIs429TooManyRequestsWithRetryAfter() throws Exception {
    String key = newKey("slow");
    assertEquals(200, get("/prod/status/200", key).statusCode());
    assertEquals(200, get("/prod/status/200", key).statusCode());
    HttpResponse<String> r = get("/prod/status/200", key);
    assertEquals(429, r.statusCode());
    assertEquals("{\"message\":\"Too Many Requests\"}", r.body());
    long retry = Long.parseLong(r.headers().firstValue("retry-after").orElseThrow());
    assertTrue(retry >= 1 && retry <= 100, "Retry-After " + retry);
    assertEquals("2", r.headers().firstValue("x-ratelimit-limit").orElse(null));
    assertEquals("0", r.headers().firstValue("x-ratelimit-remaining").orElse(null));
    assertTrue(r.headers().firstValue("ratelimit").orElse("").startsWith("\"throttle\";r=0;"));
    assertEquals("\"throttle\";q=2;w=200, \"quota\";q=1000;w=86400",
        r.headers().firstValue("ratelimit-policy").orElse(null));
  }

  @Test
  void quotaOfTenGivesTheEleventhLimitExceededEvenOnACacheHitAndHitsSpendQuota()
      throws Exception {
    String key = newKey("daily10");
    for (int i = 1; i <= 10; i++) {
      HttpResponse<String> r = get("/prod/pets/quota-cached", key);
      assertEquals(200, r.statusCode());
      assertEquals(i == 1 ? "MISS" : "HIT", r.headers().firstValue("x-cache").orElse(null));
      assertEquals(10 - i, remaining(r), "request " + i);
    }
    assertEquals(1, upstream.served("/pets/quota-cached"));
    HttpResponse<String> r = get("/prod/pets/quota-cached", key);
    assertEquals(429, r.statusCode());
    assertEquals("{\"message\":\"Limit Exceeded\"}", r.body());
    assertTrue(Long.parseLong(r.headers().firstValue("retry-after").orElseThrow()) >= 1);
    assertEquals("10", r.headers().firstValue("x-ratelimit-limit").orElse(null));
    assertEquals("0", r.headers().firstValue("x-ratelimit-remaining").orElse(null));
    // Another key still gets the cached entry.
    assertEquals("HIT", get("/prod/pets/quota-cached", newKey("roomy")).headers()
        .firstValue("x-cache").orElse(null));
  }

  @Test
  void twoKeysShareOneCacheEntry() throws Exception {
    HttpResponse<String> a = get("/prod/pets/shared", newKey("roomy"));
    HttpResponse<String> b = get("/prod/pets/shared", newKey("roomy"));
    assertEquals("MISS", a.headers().firstValue("x-cache").orElse(null));
    assertEquals("HIT", b.headers().firstValue("x-cache").orElse(null));
    assertEquals(a.body(), b.body());
    assertEquals(1, upstream.served("/pets/shared"));
  }

  @Test
  void upstream5xxSpendsQuota() throws Exception {
    String key = newKey("daily10");
    HttpResponse<String> r = get("/prod/status/503", key);
    assertEquals(503, r.statusCode());
    assertEquals("{\"status\":503}", r.body());
    assertEquals(9, remaining(r));
    assertEquals(8, remaining(get("/prod/status/500", key)));
  }

  @Test
  void unreachableUpstreamIs502TimeoutIs504AndConnectionFailuresAreRetried() throws Exception {
    HttpResponse<String> dead = get("/prod/dead", null);
    assertEquals(502, dead.statusCode());
    assertEquals("{\"message\":\"Bad Gateway\"}", dead.body());
    HttpResponse<String> slow = get("/prod/slow", null);
    assertEquals(504, slow.statusCode());
    assertEquals("{\"message\":\"Gateway Timeout\"}", slow.body());
    // Round robin over a dead and a live upstream: the dead one's turns are retried on the other.
    for (int i = 0; i < 4; i++) {
      assertEquals(200, get("/prod/pool/" + i, null).statusCode());
    }
  }

  // --- the cache ---

  @Test
  void maxAgeZeroRefreshesOnlyWhenAuthorized() throws Exception {
    String other = newKey("roomy");
    assertEquals("MISS", get("/prod/pets/refresh", other).headers().firstValue("x-cache")
        .orElse(null));
    // Not authorized, SUCCEED_WITH_RESPONSE_HEADER (the default): served from the cache, warned.
    HttpResponse<String> warned = get("/prod/pets/refresh", other, "Cache-Control", "max-age=0");
    assertEquals("HIT", warned.headers().firstValue("x-cache").orElse(null));
    assertTrue(warned.headers().firstValue("warning").orElse("").startsWith("199 "));
    assertEquals(1, upstream.served("/pets/refresh"));
    // Authorized (the key id is in cache_invalidation.key_ids): refreshed from upstream.
    HttpResponse<String> fresh = get("/prod/pets/refresh", DECLARED_KEY, "Cache-Control",
        "max-age=0");
    assertEquals("MISS", fresh.headers().firstValue("x-cache").orElse(null));
    assertEquals(2, upstream.served("/pets/refresh"));
    assertTrue(get("/prod/pets/refresh", other).body().contains("\"served\":2"));
    // FAIL_WITH_403 route.
    assertEquals(200, get("/prod/strict/1", other).statusCode());
    HttpResponse<String> refused = get("/prod/strict/1", other, "Cache-Control", "max-age=0");
    assertEquals(403, refused.statusCode());
  }

  @Test
  void flushEndpointNeedsTheTokenAndEmptiesTheStage() throws Exception {
    String key = newKey("roomy");
    get("/prod/pets/flush", key);
    assertEquals("HIT", get("/prod/pets/flush", key).headers().firstValue("x-cache").orElse(null));
    URI flush = URI.create("http://127.0.0.1:" + adminPort + "/admin/stages/prod/cache/flush");
    assertEquals(401, Processes.HTTP.send(HttpRequest.newBuilder(flush)
        .POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
    assertEquals(401, Processes.HTTP.send(HttpRequest.newBuilder(flush)
        .header("Authorization", "Bearer wrong-token-0123456789")
        .POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());
    HttpResponse<String> ok = Processes.HTTP.send(HttpRequest.newBuilder(flush)
        .header("Authorization", "Bearer " + FLUSH_TOKEN)
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals("MISS", get("/prod/pets/flush", key).headers().firstValue("x-cache")
        .orElse(null));
    assertEquals(2, upstream.served("/pets/flush"));
  }

  @Test
  void responsesOverOneMebibyteAreNotCached() throws Exception {
    String key = newKey("roomy");
    HttpResponse<String> a = get("/prod/big", key);
    assertEquals(200, a.statusCode());
    assertEquals(2 << 20, a.body().length());
    assertEquals("MISS", get("/prod/big", key).headers().firstValue("x-cache").orElse(null));
    assertEquals(2, upstream.served("/big"));
  }

  // --- bad input ---

  @Test
  void bodiesOverTheLimitAre413AndSmallerOnesStreamThrough() throws Exception {
    URI upload = URI.create("http://127.0.0.1:" + port + "/prod/upload");
    HttpResponse<String> ok = Processes.HTTP.send(HttpRequest.newBuilder(upload)
        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[90_000])).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals("{\"received\":90000}", ok.body());
    HttpResponse<String> big = Processes.HTTP.send(HttpRequest.newBuilder(upload)
        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[200_000])).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(413, big.statusCode());
    String chunked = "POST /prod/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n";
    StringBuilder sb = new StringBuilder(chunked);
    for (int i = 0; i < 30; i++) {
      sb.append("2000\r\n").append("y".repeat(0x2000)).append("\r\n");
    }
    sb.append("0\r\n\r\n");
    String answer = raw(sb.toString());
    assertTrue(answer.startsWith("HTTP/1.1 413"), answer.substring(0, Math.min(200,
        answer.length())));
  }

  /**
   * A body over max_body_bytes is 413 whatever its framing (Content-Length, chunked, HTTP/2 with
   * and without a length), the upstream sees no part of it, and it costs nothing: the key's
   * quota is whole afterwards. A body of unknown length under the limit still goes through.
   */
  @Test
  void anOversizedBodyIs413WhateverItsFramingAndCostsNothing() throws Exception {
    String key = newKey("daily10");
    HttpResponse<String> declared = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + port + "/prod/upload/big")).header("x-api-key", key)
        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[200_000])).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(413, declared.statusCode(), declared.body());

    StringBuilder chunked = new StringBuilder("POST /prod/upload/big HTTP/1.1\r\nHost: x\r\n"
        + "Connection: close\r\nx-api-key: " + key + "\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 30; i++) {
      chunked.append("2000\r\n").append("y".repeat(0x2000)).append("\r\n");
    }
    chunked.append("0\r\n\r\n");
    String answer = raw(chunked.toString());
    assertTrue(answer.startsWith("HTTP/1.1 413"), answer.substring(0, Math.min(300,
        answer.length())));
    assertTrue(answer.endsWith("{\"message\":\"Request Entity Too Large\"}"), answer);

    WebClient h2 = WebClient.of(SessionProtocol.H2C, com.linecorp.armeria.client.Endpoint.of(
        "127.0.0.1", port));
    for (boolean withLength : new boolean[] {false, true}) {
      var headers = RequestHeaders.builder(HttpMethod.POST, "/prod/upload/big")
          .add("x-api-key", key);
      if (withLength) {
        headers.contentLength(30 * 0x2000);
      }
      HttpRequestWriter req = com.linecorp.armeria.common.HttpRequest.streaming(headers.build());
      var res = h2.execute(req).aggregate();
      for (int i = 0; i < 30 && req.isOpen(); i++) {
        req.tryWrite(HttpData.wrap(new byte[0x2000]));
      }
      req.close();
      AggregatedHttpResponse r = res.get(20, TimeUnit.SECONDS);
      assertEquals(413, r.status().code(), "HTTP/2, length given: " + withLength + ": "
          + r.contentUtf8());
    }

    assertEquals(0, upstream.served("/upload/big"), "the upstream saw an oversized request");
    StringBuilder small = new StringBuilder("POST /prod/upload/small HTTP/1.1\r\nHost: x\r\n"
        + "Connection: close\r\nx-api-key: " + key + "\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; i++) {
      small.append("2000\r\n").append("y".repeat(0x2000)).append("\r\n");
    }
    small.append("0\r\n\r\n");
    String ok = raw(small.toString());
    assertTrue(ok.startsWith("HTTP/1.1 200"), ok);
    assertTrue(ok.endsWith("{\"received\":" + 5 * 0x2000 + "}"), ok);
    assertTrue(ok.toLowerCase(java.util.Locale.ROOT).contains("x-ratelimit-remaining: 9\r\n"),
        "the 413s spent quota: " + ok);
  }

  @Test
  void oversizedHeadersAre431AndMalformedRequestLinesAre400() throws Exception {
    String big = raw("GET /prod/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: "
        + "a".repeat(10_000) + "\r\n\r\n");
    assertTrue(big.startsWith("HTTP/1.1 431"), big);
    String garbage = raw("THIS IS NOT HTTP\r\n\r\n");
    assertTrue(garbage.startsWith("HTTP/1.1 400"), garbage);
    String badTarget = raw("GET no-slash HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertTrue(badTarget.startsWith("HTTP/1.1 400"), badTarget);
  }

  // --- protocols and observability ---

  @Test
  void speaksH2cAndKeepAlive() throws Exception {
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    String key = newKey("roomy");
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = h2.send(HttpRequest.newBuilder(URI.create(
          "http://127.0.0.1:" + port + "/prod/pets/h2-" + i)).header("x-api-key", key).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      assertEquals(HttpClient.Version.HTTP_2, r.version());
    }
  }

  @Test
  void metricsAndAccessLogDescribeEachRequest() throws Exception {
    String key = newKey("roomy");
    get("/prod/pets/metrics", key, "X-Request-ID", "access-log-check-1");
    get("/prod/pets/metrics", key);
    String metrics = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + adminPort + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    for (String expected : List.of(
        "gateway_requests_seconds_bucket{route=\"GET /pets/{id}\",stage=\"prod\",status=\"200\"",
        "gateway_requests_seconds_count{route=\"none\",stage=\"none\",status=\"404\"}",
        "gateway_request_errors_total{route=\"GET /dead\",stage=\"prod\",status=\"502\"}",
        "gateway_requests_in_flight{route=\"GET /pets/{id}\"}",
        "gateway_cache_requests_total{result=\"hit\",stage=\"prod\"}",
        "gateway_cache_requests_total{result=\"miss\",stage=\"prod\"}",
        "gateway_limiter_calls_seconds_count{result=\"allow\"}",
        "gateway_config_loads_total{result=\"success\"}")) {
      if (expected.contains("dead")) {
        get("/prod/dead", null);
        metrics = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + adminPort + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString()).body();
      }
      assertTrue(metrics.contains(expected), expected);
    }
    Processes.await("the access log line", Duration.ofSeconds(5),
        () -> adapter.stdout().contains("\"request_id\":\"access-log-check-1\""));
    String line = adapter.stdout().lines().filter(l -> l.contains("access-log-check-1"))
        .findFirst().orElseThrow();
    assertTrue(line.startsWith("{\"time\":\"") && line.endsWith("}"), line);
    assertTrue(line.contains("\"route\":\"GET /pets/{id}\",\"status\":200"), line);
    assertTrue(line.contains("\"limiter\":\"allow\""), line);
    assertFalse(line.contains(key), "the access log must not show key values");
  }
}
