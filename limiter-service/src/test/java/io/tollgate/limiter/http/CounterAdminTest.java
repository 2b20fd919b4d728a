package io.tollgate.limiter.http;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /admin/counters}: reads a descriptor's counters without taking a unit, and resets them,
 * on a real limiter (grid store and over-limit cache), behind the admin token.
 */
class CounterAdminTest {

  private static final String TOKEN = "counter-admin-token-0123456789";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  static Path dir;

  private static InJvmLimiter limiter;
  private static final FakeClock CLOCK = new FakeClock();

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(dir.resolve("rules.yaml"), """
        domain: edge
        descriptors:
          - key: user
            rate_limits:
              - {requests_per_unit: 3, unit: hour, name: hourly}
              - {requests_per_unit: 100, unit: day}
          - key: remote_address
            rate_limit: {algorithm: token_bucket, requests_per_unit: 2, unit: minute, burst: 2}
          - key: vip
            rate_limit: {unlimited: true}
        """);
    limiter = InJvmLimiter.start(dir, CLOCK, "--admin-token", TOKEN);
  }

  @AfterAll
  static void stop() throws Exception {
    limiter.close();
  }

  @Test
  void readTakesNothingAndResetGivesAFullLimitAgain() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertEquals(Code.OK, limiter.client.call(request("edge", descriptor("user", "ann")))
          .getOverallCode());
    }
    // The fourth is denied, and the denial is remembered by this member's over-limit cache.
    assertEquals(Code.OVER_LIMIT, limiter.client.call(request("edge", descriptor("user", "ann")))
        .getOverallCode());

    for (int i = 0; i < 3; i++) {
      HttpResponse<String> read = send("GET", "edge", "user=ann", TOKEN);
      assertEquals(200, read.statusCode(), read.body());
      assertTrue(read.body().contains("\"rule\":\"hourly\",\"key\":"), read.body());
      assertTrue(read.body().contains("\"algorithm\":\"fixed_window\",\"limit\":3,"
          + "\"remaining\":0,"), read.body());
      assertTrue(read.body().contains("\"limit\":100,\"remaining\":97,"), read.body());
      assertTrue(read.body().contains("\"reset\":false"), read.body());
    }
    // Another user's counters are apart and untouched.
    assertTrue(send("GET", "edge", "user=bob", TOKEN).body().contains("\"remaining\":3,"));

    HttpResponse<String> reset = send("DELETE", "edge", "user=ann", TOKEN);
    assertEquals(200, reset.statusCode(), reset.body());
    assertTrue(reset.body().contains("\"reset\":true"), reset.body());
    assertTrue(reset.body().contains("\"limit\":3,\"remaining\":3,"), reset.body());
    assertTrue(reset.body().contains("\"limit\":100,\"remaining\":100,"), reset.body());

    for (int i = 0; i < 3; i++) {
      assertEquals(Code.OK, limiter.client.call(request("edge", descriptor("user", "ann")))
          .getOverallCode(), "request " + i + " after the reset");
    }
    assertEquals(Code.OVER_LIMIT, limiter.client.call(request("edge", descriptor("user", "ann")))
        .getOverallCode());
  }

  @Test
  void postResetWorksForATokenBucket() throws Exception {
    limiter.client.call(request("edge", descriptor("remote_address", "10.0.0.1")));
    limiter.client.call(request("edge", descriptor("remote_address", "10.0.0.1")));
    assertEquals(Code.OVER_LIMIT, limiter.client.call(
        request("edge", descriptor("remote_address", "10.0.0.1"))).getOverallCode());
    HttpResponse<String> read = send("GET", "edge", "remote_address=10.0.0.1", TOKEN);
    assertTrue(read.body().contains("\"algorithm\":\"token_bucket\",\"limit\":2,"
        + "\"remaining\":0,"), read.body());

    HttpResponse<String> reset = send("POST", "/admin/counters/reset", "edge",
        "remote_address=10.0.0.1", TOKEN);
    assertEquals(200, reset.statusCode(), reset.body());
    assertTrue(reset.body().contains("\"remaining\":2,"), reset.body());
    assertEquals(Code.OK, limiter.client.call(
        request("edge", descriptor("remote_address", "10.0.0.1"))).getOverallCode());
  }

  @Test
  void badInputIs400NamingTheFieldAndChangesNothing() throws Exception {
    limiter.client.call(request("edge", descriptor("user", "cy")));
    assertError(send("GET", "", "user=cy", TOKEN), 400, "domain: required");
    assertError(send("DELETE", "", "user=cy", TOKEN), 400, "domain: required");
    assertError(send("GET", "edge", "", TOKEN), 400, "descriptor: required");
    assertError(send("DELETE", "edge", "=cy", TOKEN), 400, "descriptor: entry 0 has an empty key");
    assertError(send("DELETE", "edge", "user=cy,,", TOKEN), 400,
        "descriptor: entry 1 has an empty key");
    assertError(send("DELETE", "edge", "user=" + "x".repeat(1025), TOKEN), 400,
        "descriptor: entry 0 is longer than 1024 bytes");
    assertError(send("DELETE", "edge", "k=v,".repeat(33) + "k=v", TOKEN), 400,
        "descriptor: has 34 entries; at most 32");
    // Nothing was reset by the refused calls.
    assertTrue(send("GET", "edge", "user=cy", TOKEN).body().contains("\"limit\":3,\"remaining\":2,"));
  }

  @Test
  void noLimitedRuleIs404() throws Exception {
    assertError(send("GET", "edge", "nobody=x", TOKEN), 404, "no rule with a limit matches");
    assertError(send("GET", "other", "user=ann", TOKEN), 404, "no rule with a limit matches");
    assertError(send("DELETE", "edge", "vip=x", TOKEN), 404, "no rule with a limit matches");
    assertError(send("GET", "edge", "user=ann,extra=1", TOKEN), 404,
        "no rule with a limit matches");
  }

  @Test
  void withoutTheTokenIs401AndNothingIsReset() throws Exception {
    limiter.client.call(request("edge", descriptor("user", "dee")));
    assertEquals(401, send("GET", "edge", "user=dee", null).statusCode());
    assertEquals(401, send("DELETE", "edge", "user=dee", null).statusCode());
    assertEquals(401, send("DELETE", "edge", "user=dee", "wrong-token-0123456789").statusCode());
    assertTrue(send("GET", "edge", "user=dee", TOKEN).body().contains("\"remaining\":2,"));
  }

  @Test
  void otherMethodsAre405() throws Exception {
    HttpResponse<String> put = HTTP.send(base("/admin/counters", "edge", "user=ann", TOKEN)
        .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, put.statusCode());
    assertEquals("GET, DELETE", put.headers().firstValue("Allow").orElse(""));
    assertEquals(405, send("GET", "/admin/counters/reset", "edge", "user=ann", TOKEN)
        .statusCode());
  }

  private static void assertError(HttpResponse<String> r, int status, String message) {
    assertEquals(status, r.statusCode(), r.body());
    assertTrue(r.body().startsWith("{\"error\":\"" + message), r.body());
  }

  private static HttpResponse<String> send(String method, String domain, String descriptor,
      String token) throws Exception {
    return send(method, "/admin/counters", domain, descriptor, token);
  }

  private static HttpResponse<String> send(String method, String path, String domain,
      String descriptor, String token) throws Exception {
    return HTTP.send(base(path, domain, descriptor, token)
        .method(method, HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest.Builder base(String path, String domain, String descriptor,
      String token) {
    String query = "?domain=" + URLEncoder.encode(domain, StandardCharsets.UTF_8)
        + "&descriptor=" + URLEncoder.encode(descriptor, StandardCharsets.UTF_8);
    HttpRequest.Builder b = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + limiter.httpPort() + path + query));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }
}
