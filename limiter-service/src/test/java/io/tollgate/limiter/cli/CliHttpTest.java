package io.tollgate.limiter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the commands send and how they treat answers, against a stub HTTP server that records the
 * request and answers what the test tells it to.
 */
class CliHttpTest {

  private record Recorded(String method, String uri, String authorization, String body) {}

  private HttpServer server;
  private volatile Recorded last;
  private volatile int status = 200;
  private volatile String answer = "{}";
  private String url;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      last = new Recorded(exchange.getRequestMethod(), exchange.getRequestURI().toString(),
          exchange.getRequestHeaders().getFirst("Authorization"), body);
      byte[] out = answer.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, out.length);
      exchange.getResponseBody().write(out);
      exchange.close();
    });
    server.start();
    url = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private void answer(int status, String body) {
    this.status = status;
    this.answer = body;
  }

  private CliRun run(String... args) {
    return CliRun.run(Map.of("TOLLGATE_URL", url, "RL_ADMIN_TOKEN", "env-token"), args);
  }

  @Test
  void urlAndTokenComeFromTheEnvironment() {
    answer(200, "{\"plans\": []}");
    CliRun r = run("plans", "list");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("no plans\n", r.out());
    assertEquals(new Recorded("GET", "/admin/plans", "Bearer env-token", ""), last);
  }

  @Test
  void flagsWinOverTheEnvironment(@TempDir Path dir) throws IOException {
    answer(200, "{\"plans\": []}");
    CliRun r = CliRun.run(Map.of("TOLLGATE_URL", "http://127.0.0.1:1",
        "RL_ADMIN_TOKEN", "env-token"), "plans", "list", "--url", url + "/", "--token", "flag");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("Bearer flag", last.authorization());
    Path file = dir.resolve("token");
    Files.writeString(file, "from-file\n");
    r = run("plans", "list", "--token-file", file.toString());
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("Bearer from-file", last.authorization());
  }

  @Test
  void tokenAndTokenFileTogetherAreBadUsage(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("token");
    Files.writeString(file, "from-file");
    CliRun r = run("plans", "list", "--token", "t", "--token-file", file.toString());
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.err().startsWith("error: --token and --token-file: give one, not both\n"),
        r.toString());
  }

  @Test
  void argumentsStartingWithAtAreNotFiles() {
    answer(200, "{\"id\":\"k_1\",\"name\":\"@bob\",\"enabled\":true}");
    CliRun r = run("keys", "rename", "k_1", "@bob");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("{\n  \"name\": \"@bob\"\n}", last.body());
  }

  @Test
  void noTokenSendsNoAuthorization() {
    answer(401, "{\"error\": \"missing bearer token\"}");
    CliRun r = CliRun.run(Map.of("TOLLGATE_URL", url), "keys", "list");
    assertEquals(1, r.exitCode(), r.toString());
    assertEquals(null, last.authorization());
    assertEquals("error: missing bearer token (HTTP 401)\n", r.err());
    assertEquals("", r.out());
  }

  @Test
  void errorAnswersPrintTheServersReasonAndStatus() {
    for (int code : new int[] {400, 404, 409, 503}) {
      answer(code, "{\"error\":\"plan 'x' has keys\"}\n");
      CliRun r = run("plans", "delete", "x");
      assertEquals(1, r.exitCode(), r.toString());
      assertEquals("error: plan 'x' has keys (HTTP " + code + ")\n", r.err());
    }
    answer(502, "<html>bad gateway</html>");
    CliRun r = run("plans", "get", "x");
    assertEquals("error: <html>bad gateway</html> (HTTP 502)\n", r.err());
  }

  @Test
  void unreachableServerIsAnErrorNamingTheUrl() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    CliRun r = run("plans", "list", "--url", "http://127.0.0.1:" + port);
    assertEquals(1, r.exitCode(), r.toString());
    assertEquals("error: cannot reach http://127.0.0.1:" + port + ": connection refused\n",
        r.err());
  }

  @Test
  void plansCreateAndDelete() {
    answer(201, "{\"id\":\"basic\",\"name\":\"\",\"description\":\"\",\"throttle\":{\"rate\":5.0,"
        + "\"burst\":\"10\"},\"apiStages\":[{\"api\":\"petstore\",\"stage\":\"prod\","
        + "\"methods\":{}}],\"declaredInConfig\":false}");
    CliRun r = run("plans", "create", "--id", "basic", "--rate", "5", "--burst", "10",
        "--stage", "petstore/prod");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("POST", last.method());
    assertEquals("/admin/plans", last.uri());
    assertEquals("{\n  \"id\": \"basic\",\n  \"throttle\": {\n    \"rate\": 5.0,\n"
        + "    \"burst\": \"10\"\n  },\n  \"apiStages\": [{\n    \"api\": \"petstore\",\n"
        + "    \"stage\": \"prod\"\n  }]\n}", last.body());
    assertTrue(r.out().startsWith("id:           basic\n"), r.toString());
    answer(200, "{}");
    r = run("plans", "delete", "basic");
    assertEquals("DELETE /admin/plans/basic", last.method() + " " + last.uri());
    assertEquals("plan basic deleted\n", r.out());
  }

  @Test
  void keysCreateSendsTheRequestAndShowsTheValueOnce() {
    answer(201, "{\"key\":{\"id\":\"k_1\",\"name\":\"alice\",\"enabled\":false,"
        + "\"planIds\":[\"basic\"],\"createdAt\":\"2026-11-27T12:00:00Z\","
        + "\"declaredInConfig\":false,\"someNewField\":1},\"value\":\"tg_secret_value_0123456789\"}");
    CliRun r = run("keys", "create", "--name", "alice", "--plan", "basic", "--disabled");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("POST /admin/keys", last.method() + " " + last.uri());
    assertEquals("{\n  \"name\": \"alice\",\n  \"enabled\": false,\n  \"planIds\": [\"basic\"]\n}",
        last.body());
    assertTrue(r.out().contains("value:    tg_secret_value_0123456789\n"), r.toString());
    assertTrue(r.out().contains("shown only this once"), r.toString());
  }

  @Test
  void keyChangesUseTheirRoutes() {
    String key = "{\"id\":\"k_1\",\"name\":\"bob\",\"enabled\":true,\"planIds\":[]}";
    answer(200, key);
    run("keys", "disable", "k_1");
    assertEquals(new Recorded("PATCH", "/admin/keys/k_1", "Bearer env-token",
        "{\n  \"enabled\": false\n}"), last);
    run("keys", "enable", "k_1");
    assertEquals("{\n  \"enabled\": true\n}", last.body());
    CliRun r = run("keys", "rename", "k_1", "bob");
    assertEquals("{\n  \"name\": \"bob\"\n}", last.body());
    assertTrue(r.out().startsWith("id:       k_1\nname:     bob\nenabled:  true\n"), r.toString());
    run("keys", "add-plan", "k_1", "gold");
    assertEquals("PUT /admin/plans/gold/keys/k_1", last.method() + " " + last.uri());
    run("keys", "remove-plan", "k_1", "gold");
    assertEquals("DELETE /admin/plans/gold/keys/k_1", last.method() + " " + last.uri());
    run("keys", "get", "k_1");
    assertEquals("GET /admin/keys/k_1", last.method() + " " + last.uri());
    answer(200, "{\"keys\": []}");
    run("keys", "list", "--plan", "gold plan");
    assertEquals("GET /admin/keys?plan=gold%20plan", last.method() + " " + last.uri());
    answer(200, "{}");
    r = run("keys", "delete", "k_1");
    assertEquals("DELETE /admin/keys/k_1", last.method() + " " + last.uri());
    assertEquals("key k_1 deleted\n", r.out());
  }

  @Test
  void usageDefaultsToTheLastSevenUtcDays() {
    answer(200, "{\"planId\":\"basic\",\"from\":\"2026-11-21\",\"to\":\"2026-11-27\",\"keys\":[]}");
    CliRun r = run("usage", "--plan", "basic");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("/admin/plans/basic/usage?from=2026-11-21&to=2026-11-27", last.uri());
    run("usage", "--plan", "basic", "--key", "k_1", "--to", "2026-10-31");
    assertEquals("/admin/plans/basic/usage?from=2026-10-25&to=2026-10-31&key=k_1", last.uri());
    run("usage", "--plan", "basic", "--from", "2026-11-01", "--to", "2026-11-02");
    assertEquals("/admin/plans/basic/usage?from=2026-11-01&to=2026-11-02", last.uri());
  }

  @Test
  void usageUsageErrors() {
    CliRun r = run("usage");
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.err().startsWith("error: Missing required option: '--plan=PLAN_ID'\n"), r.err());
    r = run("usage", "--plan", "p", "--from", "2026-13-01");
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.err().startsWith("error: --from: '2026-13-01' is not a date YYYY-MM-DD\n"),
        r.err());
    r = run("usage", "--plan", "p", "--from", "2026-11-05", "--to", "2026-11-01");
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.err().startsWith("error: --from 2026-11-05 is after --to 2026-11-01\n"), r.err());
    r = run("usage", "grant", "--plan", "p", "--key", "k");
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.err().startsWith("error: Missing required option: '--remaining=N'\n"), r.err());
  }

  @Test
  void usageGrantAndReset() {
    answer(200, "{\"limit\":\"100\",\"used\":\"0\",\"remaining\":\"150\","
        + "\"periodStart\":\"2026-11-27T00:00:00Z\",\"periodEnd\":\"2026-11-28T00:00:00Z\"}");
    CliRun r = run("usage", "grant", "--plan", "basic", "--key", "k_1", "--remaining", "150");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals(new Recorded("POST", "/admin/plans/basic/usage/k_1", "Bearer env-token",
        "{\n  \"remaining\": \"150\"\n}"), last);
    assertEquals(""
        + "limit:         100\n"
        + "used:          0\n"
        + "remaining:     150\n"
        + "period start:  2026-11-27T00:00:00Z\n"
        + "period end:    2026-11-28T00:00:00Z\n", r.out());
    run("usage", "reset", "--plan", "basic", "--key", "k_1");
    assertEquals("{\n  \"reset\": true\n}", last.body());
  }

  @Test
  void checkExitsZeroWhenAllowedAndOneWhenDenied() {
    answer(200, "{\"allowed\":true,\"reason\":\"ALLOWED\",\"keyId\":\"k_1\",\"planId\":\"basic\","
        + "\"throttle\":{\"level\":\"plan\",\"limit\":\"10\",\"remaining\":\"9\",\"rate\":5}}");
    CliRun r = CliRun.run(Map.of("TOLLGATE_URL", url), "check", "--key", "tg_value",
        "--api", "petstore", "--stage", "prod", "--method", "GET", "--route", "/pets/{id}");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals(new Recorded("POST", "/v1/check", null, "{\n  \"apiKey\": \"tg_value\",\n"
        + "  \"api\": \"petstore\",\n  \"stage\": \"prod\",\n  \"method\": \"GET\",\n"
        + "  \"route\": \"/pets/{id}\",\n  \"cost\": 1\n}"), last);
    assertTrue(r.out().startsWith("allowed:           true\nreason:            ALLOWED\n"),
        r.toString());
    answer(429, "{\"allowed\":false,\"reason\":\"THROTTLED\",\"retryAfter\":\"0.200s\"}");
    r = run("check", "--key", "v", "--api", "a", "--stage", "s", "--method", "GET",
        "--route", "/", "--cost", "3");
    assertEquals(1, r.exitCode(), r.toString());
    assertTrue(last.body().contains("\"cost\": 3"), last.body());
    assertTrue(r.out().contains("retry after:       0.2s\n"), r.toString());
    assertEquals("", r.err());
    answer(403, "{\"allowed\":false,\"reason\":\"FORBIDDEN\",\"message\":\"API key is disabled\"}");
    r = run("check", "--key", "v", "--api", "a", "--stage", "s", "--method", "GET",
        "--route", "/", "--json");
    assertEquals(1, r.exitCode(), r.toString());
    assertEquals(answer + "\n", r.out());
    answer(400, "{\"error\":\"route is empty\"}");
    r = run("check", "--key", "v", "--api", "a", "--stage", "s", "--method", "GET",
        "--route", "/");
    assertEquals(1, r.exitCode(), r.toString());
    assertEquals("error: route is empty (HTTP 400)\n", r.err());
  }

  @Test
  void jsonPrintsTheAnswerAsItCame() {
    answer(200, "{\"keys\":[{\"id\":\"k_1\",\"name\":\"\",\"enabled\":true}]}");
    CliRun r = run("keys", "list", "--json");
    assertEquals(answer + "\n", r.out());
  }
}
