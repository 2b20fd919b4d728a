package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged adapter when the limiter cannot answer: never reached since start, stalling
 * (a stand-in limiter that holds checks unanswered), or gone (stopped after the adapter was
 * ready); per-route failure modes; a limiter's answer that is not fit to forward; its config
 * errors at start and on reload, and {@code --help}. No limiter process is needed here:
 * {@link FakeLimiter} stands in for it.
 */
class GatewayFailureModesIT {

  @TempDir
  static Path dir;
  static TestUpstream upstream;

  @BeforeAll
  static void start() throws Exception {
    upstream = new TestUpstream(Processes.freePort());
  }

  @AfterAll
  static void stop() {
    upstream.close();
  }

  static String config(String mode, String extraRoute) {
    return """
        api: petstore
        limiter:
          failure_mode: MODE
          deadline_ms: 300
          circuit_breaker: {failures: 3, open_ms: 60000}
        stages: [{name: prod}]
        routes:
          - route: GET /pets/{id}
            upstreams: [http://127.0.0.1:UP]
            api_key_required: true
        """.replace("MODE", mode).replace("UP", Integer.toString(upstream.port())) + extraRoute;
  }

  static HttpResponse<String> get(int port, String path) throws Exception {
    return Processes.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + path)).header("x-api-key", "any-key-0123456789abcdef").timeout(Duration.ofSeconds(20))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  static String metrics(int adminPort) throws Exception {
    return Processes.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
        + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  static HttpResponse<String> health(int adminPort) throws Exception {
    return Processes.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
        + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * An adapter that has never reached the limiter is not ready and says why, and lets nothing
   * through, whatever its failure mode: a new adapter never sends an unchecked request.
   */
  @Test
  void anAdapterThatNeverReachedTheLimiterIsNotReadyAndLetsNothingThrough() throws Exception {
    Path config = dir.resolve("never.yaml");
    Files.writeString(config, config("fail_open", ""));
    int port = Processes.freePort();
    int admin = Processes.freePort();
    try (Processes.Proc adapter = Processes.adapter("never-ready", config, port, admin,
        "127.0.0.1:" + Processes.freePort())) {
      Processes.await("the admin port", Duration.ofSeconds(60), () -> {
        try {
          return health(admin).statusCode() > 0;
        } catch (java.io.IOException e) {
          return false;
        }
      });
      HttpResponse<String> h = health(admin);
      assertEquals(503, h.statusCode(), h.body());
      assertTrue(h.body().startsWith("NOT READY: no check round trip to the limiter"), h.body());
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> r = get(port, "/prod/pets/" + i);
        assertEquals(503, r.statusCode(), r.body());
        assertEquals("{\"message\":\"Service Unavailable\"}", r.body());
      }
      assertEquals(0, upstream.served("/pets/0"));
    }
  }

  @Test
  void failOpenLetsRequestsThroughAndTheBreakerStopsWaiting() throws Exception {
    Path config = dir.resolve("open.yaml");
    Files.writeString(config, config("fail_open", ""));
    int port = Processes.freePort();
    int admin = Processes.freePort();
    try (FakeLimiter limiter = new FakeLimiter(Processes.freePort());
        Processes.Proc adapter = Processes.adapter("fail-open", config, port, admin,
            limiter.target())) {
      adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
      limiter.stall = true;
      for (int i = 0; i < 3; i++) {
        long start = System.nanoTime();
        HttpResponse<String> r = get(port, "/prod/pets/" + i);
        assertEquals(200, r.statusCode(), r.body());
        assertFalse(r.headers().firstValue("x-ratelimit-limit").isPresent());
        assertTrue(System.nanoTime() - start >= 250_000_000L, "waited for the deadline");
      }
      // The breaker is open now: no more waiting on the limiter.
      long start = System.nanoTime();
      assertEquals(200, get(port, "/prod/pets/fast").statusCode());
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(millis < 250, "answered in " + millis + " ms with the breaker open");
      String m = metrics(admin);
      assertTrue(m.contains("gateway_limiter_failures_total{reason=\"deadline_exceeded\"} 3.0"),
          m);
      assertTrue(m.contains("gateway_limiter_failures_total{reason=\"circuit_open\"} 1.0"), m);
      assertTrue(m.contains("gateway_limiter_circuit_open 1.0"), m);
      // Route 404 and missing key 403 still hold without a limiter.
      assertEquals(404, get(port, "/prod/nothing").statusCode());
      assertEquals(403, Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
          "http://127.0.0.1:" + port + "/prod/pets/1")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode());
      // Once ready, the adapter stays ready while the limiter is away (the failure mode
      // answers): health does not take every adapter out of service at once.
      assertEquals(200, health(admin).statusCode());
    }
  }

  /**
   * A connection on which the limiter answered nothing within a check's deadline is closed and
   * the next check makes a new one: a limiter host gone without a word would otherwise hold the
   * connection, and every check after it, until TCP gives up. That reconnection does not close
   * the circuit breaker.
   */
  @Test
  void aConnectionThatAnsweredNothingIsReplaced() throws Exception {
    Path config = dir.resolve("silent.yaml");
    Files.writeString(config, config("fail_open", ""));
    int port = Processes.freePort();
    int admin = Processes.freePort();
    try (FakeLimiter limiter = new FakeLimiter(Processes.freePort());
        Processes.Proc adapter = Processes.adapter("silent", config, port, admin,
            limiter.target(), "--event-loops", "1")) {
      adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
      assertTrue(metrics(admin).contains("gateway_limiter_connections_opened_total 1.0"),
          "one event loop, one connection");
      limiter.stall = true;
      assertEquals(200, get(port, "/prod/pets/1").statusCode());
      limiter.stall = false;
      long checks = limiter.checks.get();
      assertEquals(200, get(port, "/prod/pets/2").statusCode());
      assertEquals(checks + 1, limiter.checks.get(), "the second request was checked");
      String m = metrics(admin);
      assertTrue(m.contains("gateway_limiter_connections_opened_total 2.0"), m);
      assertTrue(m.contains("gateway_limiter_failures_total{reason=\"deadline_exceeded\"} 1.0"),
          m);
    }
  }

  /**
   * The key id in the limiter's answer goes upstream as {@code X-Api-Key-Id} only when it holds
   * no control character: one with CR LF would otherwise write a header of its own choosing into
   * the upstream request.
   */
  @Test
  void aKeyIdWithControlCharactersIsNotForwarded() throws Exception {
    Path config = dir.resolve("key-id.yaml");
    Files.writeString(config, config("fail_closed", ""));
    int port = Processes.freePort();
    int admin = Processes.freePort();
    try (FakeLimiter limiter = new FakeLimiter(Processes.freePort());
        Processes.Proc adapter = Processes.adapter("key-id", config, port, admin,
            limiter.target())) {
      adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
      limiter.keyId = "plain-id";
      assertEquals(200, get(port, "/prod/pets/plain").statusCode());
      assertEquals(List.of("plain-id"), headerValues("/pets/plain", "x-api-key-id"));

      limiter.keyId = "forged\r\nX-Injected: 1";
      HttpResponse<String> r = get(port, "/prod/pets/forged");
      assertEquals(200, r.statusCode(), r.body());
      assertEquals(List.of(), headerValues("/pets/forged", "x-api-key-id"));
      assertEquals(List.of(), headerValues("/pets/forged", "x-injected"));
    }
  }

  /** The values of header {@code name} in the upstream's last request for {@code path}. */
  static List<String> headerValues(String path, String name) {
    return upstream.lastHeaders.get(path).entrySet().stream()
        .filter(e -> e.getKey().equalsIgnoreCase(name))
        .flatMap(e -> e.getValue().stream()).toList();
  }

  @Test
  void failClosedAnswers503() throws Exception {
    Path config = dir.resolve("closed.yaml");
    Files.writeString(config, config("fail_closed", ""));
    int port = Processes.freePort();
    int admin = Processes.freePort();
    FakeLimiter limiter = new FakeLimiter(Processes.freePort());
    try (Processes.Proc adapter = Processes.adapter("fail-closed", config, port, admin,
        limiter.target())) {
      adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
      // The limiter goes away: nobody listens on its port any more.
      limiter.close();
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> r = get(port, "/prod/pets/1");
        assertEquals(503, r.statusCode());
        assertEquals("{\"message\":\"Service Unavailable\"}", r.body());
      }
      assertEquals(0, upstream.served("/pets/1"));
    } finally {
      limiter.close();
    }
  }

  /**
   * {@code failure_mode} on a route overrides the top-level one, either way: with the limiter
   * gone, a fail_closed login route answers 503 while a catalogue route fails open.
   */
  @Test
  void aRoutesFailureModeOverridesTheTopLevelOne() throws Exception {
    for (String top : new String[] {"fail_open", "fail_closed"}) {
      Path config = dir.resolve("per-route-" + top + ".yaml");
      Files.writeString(config, config(top, """
            - route: POST /login
              upstreams: [http://127.0.0.1:UP]
              failure_mode: fail_closed
            - route: GET /catalog/{id}
              upstreams: [http://127.0.0.1:UP]
              failure_mode: fail_open
          """.replace("UP", Integer.toString(upstream.port()))));
      int port = Processes.freePort();
      int admin = Processes.freePort();
      FakeLimiter limiter = new FakeLimiter(Processes.freePort());
      try (Processes.Proc adapter = Processes.adapter("per-route-" + top, config, port, admin,
          limiter.target())) {
        adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
        assertEquals(200, get(port, "/prod/catalog/checked").statusCode());
        limiter.close();
        long loginsBefore = upstream.served("/login");
        for (int i = 0; i < 4; i++) {
          HttpResponse<String> login = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
              "http://127.0.0.1:" + port + "/prod/login")).timeout(Duration.ofSeconds(20))
              .POST(HttpRequest.BodyPublishers.ofString("user=a")).build(),
              HttpResponse.BodyHandlers.ofString());
          assertEquals(503, login.statusCode(), top + ": " + login.body());
          HttpResponse<String> catalog = get(port, "/prod/catalog/" + top + i);
          assertEquals(200, catalog.statusCode(), top + ": " + catalog.body());
          assertFalse(catalog.headers().firstValue("x-ratelimit-limit").isPresent());
          // The top-level mode still applies to a route that names none.
          assertEquals(top.equals("fail_open") ? 200 : 503,
              get(port, "/prod/pets/" + top + i).statusCode(), top);
        }
        assertEquals(loginsBefore, upstream.served("/login"));
      } finally {
        limiter.close();
      }
    }
  }

  /** {@code --log-format json}: every lifecycle log line is one JSON object. */
  @Test
  void jsonLogsAreOneObjectPerLine() throws Exception {
    Path config = dir.resolve("json-logs.yaml");
    Files.writeString(config, config("fail_open", ""));
    int admin = Processes.freePort();
    try (FakeLimiter limiter = new FakeLimiter(Processes.freePort());
        Processes.Proc adapter = Processes.adapter("json-logs", config, Processes.freePort(),
            admin, limiter.target(), "--log-format", "json")) {
      adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
      Processes.await("the ready line", Duration.ofSeconds(10),
          () -> adapter.stderr().contains("answered a check"));
      List<String> lines = adapter.stderr().lines().filter(l -> !l.isBlank()).toList();
      assertTrue(lines.stream().anyMatch(l -> l.startsWith("{\"time\":\"")
          && l.contains("\"level\":\"INFO\",\"logger\":\"io.tollgate.gateway.DecisionClient\"")
          && l.contains("answered a check") && l.endsWith("}")), lines.toString());
      for (String l : lines) {
        assertFalse(l.matches("^\\d{4}-\\d\\d-\\d\\dT\\S+ (INFO|WARNING|SEVERE) .*"),
            "a text log line: " + l);
      }
    }
  }

  @Test
  void aBadConfigAtStartExitsWithTheProblemNamed() throws Exception {
    Path config = dir.resolve("bad.yaml");
    Files.writeString(config, config("fail_open", "").replace("GET /pets/{id}",
        "FETCH /pets/{id}"));
    try (Processes.Proc adapter = Processes.adapter("bad-config", config, Processes.freePort(),
        Processes.freePort(), "127.0.0.1:1")) {
      assertEquals(1, adapter.waitFor(Duration.ofSeconds(60)));
      assertTrue(adapter.stderr().contains("error: bad config: bad.yaml:8: routes[0].route: "
          + "unknown method 'FETCH'"), adapter.stderr());
    }
  }

  @Test
  void reloadAppliesGoodEditsAndKeepsTheLastGoodConfigOnBadOnes() throws Exception {
    Path config = dir.resolve("reload.yaml");
    Files.writeString(config, config("fail_open", ""));
    int port = Processes.freePort();
    int admin = Processes.freePort();
    try (FakeLimiter limiter = new FakeLimiter(Processes.freePort());
        Processes.Proc adapter = Processes.adapter("reload", config, port, admin,
            limiter.target())) {
      adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
      assertEquals(404, get(port, "/prod/status/204").statusCode());
      Files.writeString(config, "api: petstore\nstages: [{name: prod}]\nroutes: [{route: x}]\n");
      Processes.await("the bad edit to be reported", Duration.ofSeconds(10),
          () -> metrics(admin).contains("gateway_config_loads_total{result=\"error\"} 1.0"));
      assertTrue(adapter.stderr().contains("bad config, keeping the last good one: "
          + "reload.yaml:3: routes[0].route: expected 'METHOD /path'"), adapter.stderr());
      assertEquals(200, get(port, "/prod/pets/still-served").statusCode());
      Files.writeString(config, config("fail_open", """
            - route: GET /status/{code}
              upstreams: [http://127.0.0.1:UP]
          """.replace("UP", Integer.toString(upstream.port()))));
      Processes.await("the new route", Duration.ofSeconds(10),
          () -> get(port, "/prod/status/204").statusCode() == 204);
    }
  }

  @Test
  void helpListsTheFlags() throws Exception {
    try (Processes.Proc help = new Processes.Proc("help", List.of("-jar",
        Processes.ADAPTER_JAR.toString(), "--help"))) {
      assertEquals(0, help.waitFor(Duration.ofSeconds(60)));
      for (String flag : List.of("--config", "--port", "--admin-port", "--limiter", "--bind",
          "--admin-token", "--access-log", "--tls-cert", "--tls-client-ca", "--limiter-tls",
          "--log-format")) {
        assertTrue(help.stdout().contains(flag), help.stdout());
      }
    }
  }
}
