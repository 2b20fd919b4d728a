package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.LimiterExtension;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The HTTP port: /json, health and metrics. */
class JsonEndpointTest {

  @RegisterExtension
  static final LimiterExtension LIMITER = new LimiterExtension("/service/rules.yaml");

  private static String body(String key, String value) {
    return "{\"domain\":\"test\",\"descriptors\":[{\"entries\":[{\"key\":\"" + key
        + "\",\"value\":\"" + value + "\"}]}]}";
  }

  @Test
  void answersOkThenTooManyRequestsInProtoJson() throws Exception {
    HttpResponse<String> ok = LIMITER.limiter().post("/json", body("one", "json"));
    assertEquals(200, ok.statusCode());
    assertEquals("application/json", ok.headers().firstValue("Content-Type").orElseThrow());
    assertEquals("{\"overallCode\":\"OK\",\"statuses\":[{\"code\":\"OK\",\"currentLimit\":"
        + "{\"requestsPerUnit\":1,\"unit\":\"MINUTE\"},\"durationUntilReset\":\"60s\"}]}",
        ok.body());
    HttpResponse<String> over = LIMITER.limiter().post("/json", body("one", "json"));
    assertEquals(429, over.statusCode());
    assertTrue(over.body().startsWith("{\"overallCode\":\"OVER_LIMIT\""), over.body());
  }

  @Test
  void malformedJsonIsBadRequest() throws Exception {
    HttpResponse<String> r = LIMITER.limiter().post("/json", "{\"domain\": ");
    assertEquals(400, r.statusCode());
    assertTrue(r.body().startsWith("invalid JSON RateLimitRequest: "), r.body());
  }

  @Test
  void unknownFieldIsBadRequest() throws Exception {
    HttpResponse<String> r = LIMITER.limiter().post("/json", "{\"domain\":\"test\",\"descriptor\":[]}");
    assertEquals(400, r.statusCode());
    assertTrue(r.body().contains("descriptor"), r.body());
  }

  @Test
  void negativeHitsAddendIsBadRequest() throws Exception {
    HttpResponse<String> r = LIMITER.limiter().post("/json", "{\"domain\":\"test\",\"hitsAddend\":-1,"
        + "\"descriptors\":[{\"entries\":[{\"key\":\"one\",\"value\":\"neg\"}]}]}");
    assertEquals(400, r.statusCode());
    assertTrue(r.body().startsWith("invalid JSON RateLimitRequest: "), r.body());
  }

  @Test
  void invalidRequestIsBadRequestWithTheReason() throws Exception {
    HttpResponse<String> r = LIMITER.limiter().post("/json", "{\"domain\":\"test\",\"descriptors\":[]}");
    assertEquals(400, r.statusCode());
    assertEquals("descriptors must not be empty\n", r.body());
  }

  @Test
  void onlyPostIsAllowedOnJson() throws Exception {
    HttpResponse<String> r = LIMITER.limiter().get("/json");
    assertEquals(405, r.statusCode());
    assertEquals("POST", r.headers().firstValue("Allow").orElseThrow());
  }

  @Test
  void healthEndpoints() throws Exception {
    assertEquals(200, LIMITER.limiter().get("/healthz").statusCode());
    assertEquals(200, LIMITER.limiter().get("/healthcheck").statusCode());
    assertEquals(404, LIMITER.limiter().get("/healthz/extra").statusCode());
  }

  @Test
  void metricsArePrometheusText() throws Exception {
    LIMITER.limiter().post("/json", body("five", "metrics"));
    String text = LIMITER.limiter().get("/metrics").body();
    for (String name : new String[] {"ratelimit_requests_seconds_bucket{code=\"OK\",transport=\"json\"",
        "ratelimit_requests_seconds_count{code=\"OK\",transport=\"json\"}",
        "ratelimit_total_hits_total{rule=\"test.five\"}",
        "ratelimit_config_loads_total{result=\"success\"} 1.0",
        "ratelimit_cluster_members 1.0", "ratelimit_cluster_partitions 271.0",
        "ratelimit_cluster_partitions_without_owner 0.0", "ratelimit_counters_owned_entries"}) {
      assertTrue(text.contains(name), "missing " + name + " in\n" + text);
    }
  }

  @Test
  void stalledClientsDoNotBlockHealthChecks() throws Exception {
    java.util.List<java.net.Socket> stalled = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 8; i++) {
        java.net.Socket s = new java.net.Socket("127.0.0.1", LIMITER.limiter().httpPort());
        // Half stall in a /json body, half before the end of their headers.
        String partial = i % 2 == 0
            ? "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
            : "GET /healthz HTTP/1.1\r\nHost: x\r\n";
        s.getOutputStream().write(partial.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        stalled.add(s);
      }
      java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
      HttpResponse<String> health = client.send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + LIMITER.limiter().httpPort() + "/healthz"))
          .timeout(java.time.Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, health.statusCode());
    } finally {
      for (java.net.Socket s : stalled) {
        s.close();
      }
    }
  }
}
