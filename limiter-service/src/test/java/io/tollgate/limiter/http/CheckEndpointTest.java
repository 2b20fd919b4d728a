package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.LimiterExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** /check on a running limiter: statuses, headers, any method, bad input. */
class CheckEndpointTest {

  @RegisterExtension
  static final LimiterExtension LIMITER = new LimiterExtension("/http/check.yaml");

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static HttpResponse<String> call(String method, String query, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + LIMITER.limiter().httpPort() + "/check" + query))
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Optional<String> header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name);
  }

  @Test
  void allowsThenAnswers429WithTheRateLimitHeaders() throws Exception {
    String q = "?domain=check&descriptor=remote_address:remote_address";
    for (int i = 1; i <= 3; i++) {
      HttpResponse<String> ok = call("GET", q, "X-Real-IP", "192.0.2.1");
      assertEquals(200, ok.statusCode());
      assertEquals("OK\n", ok.body());
      assertEquals("\"remote_address\";q=3;w=60", header(ok, "RateLimit-Policy").orElseThrow());
      assertEquals("\"remote_address\";r=" + (3 - i) + ";t=60", header(ok, "RateLimit").orElseThrow());
      assertEquals("3", header(ok, "X-RateLimit-Limit").orElseThrow());
      assertEquals(Integer.toString(3 - i), header(ok, "X-RateLimit-Remaining").orElseThrow());
      assertEquals("60", header(ok, "X-RateLimit-Reset").orElseThrow());
      assertFalse(header(ok, "Retry-After").isPresent());
    }
    HttpResponse<String> over = call("GET", q, "X-Real-IP", "192.0.2.1");
    assertEquals(429, over.statusCode());
    assertEquals("OVER_LIMIT\n", over.body());
    assertEquals("\"remote_address\";r=0;t=60", header(over, "RateLimit").orElseThrow());
    assertEquals("0", header(over, "X-RateLimit-Remaining").orElseThrow());
    assertEquals("60", header(over, "Retry-After").orElseThrow());
    // Another client address has its own counter.
    assertEquals(200, call("GET", q, "X-Real-IP", "192.0.2.2").statusCode());
  }

  @Test
  void acceptsAnyMethodAndTakesTheOriginalMethodFromHeaders() throws Exception {
    String q = "?domain=check&descriptor=method:method,path:path";
    // POST /orders is limited to 1 a day; the method comes from X-Original-Method when present.
    assertEquals(200, call("GET", q, "X-Original-Method", "POST", "X-Original-URI", "/orders?a=1")
        .statusCode());
    HttpResponse<String> over = call("PUT", q, "X-Original-Method", "POST",
        "X-Original-URI", "/orders");
    assertEquals(429, over.statusCode());
    // The day window is aligned to the epoch, as envoyproxy/ratelimit's: it resets at midnight UTC.
    assertEquals(header(over, "X-RateLimit-Reset").orElseThrow(),
        header(over, "Retry-After").orElseThrow());
    // Without the header, the method of the call itself: POST /check is a POST.
    assertEquals(429, call("POST", q, "X-Original-URI", "/orders").statusCode());
    assertEquals(200, call("HEAD", q, "X-Original-URI", "/orders").statusCode());
    assertEquals(200, call("DELETE", q, "X-Original-URI", "/orders").statusCode());
  }

  @Test
  void namesPoliciesAndPicksTheTightestLimitForRateLimit() throws Exception {
    HttpResponse<String> r = call("GET", "?domain=check&descriptor=client:header.X-Client"
        + "&descriptor=api_key:header.X-Api-Key&descriptor=generic_key:=free",
        "X-Client", "c1", "X-Api-Key", "k1");
    assertEquals(200, r.statusCode());
    assertEquals("\"per_client\";q=5;w=3600, \"api_key\";q=2;w=1",
        header(r, "RateLimit-Policy").orElseThrow());
    assertEquals("\"api_key\";r=1;t=1", header(r, "RateLimit").orElseThrow());
    assertEquals("2", header(r, "X-RateLimit-Limit").orElseThrow());
  }

  @Test
  void noMatchingLimitOrNoDescriptorIsAllowedWithoutHeaders() throws Exception {
    HttpResponse<String> unmatched = call("GET", "?domain=check&descriptor=other:=x");
    assertEquals(200, unmatched.statusCode());
    assertFalse(header(unmatched, "RateLimit").isPresent());
    HttpResponse<String> absent = call("GET", "?domain=check&descriptor=api_key:header.X-Api-Key");
    assertEquals(200, absent.statusCode());
    assertFalse(header(absent, "RateLimit-Policy").isPresent());
  }

  @Test
  void badInputIs400WithTheReason() throws Exception {
    HttpResponse<String> r = call("GET", "?descriptor=a:=b");
    assertEquals(400, r.statusCode());
    assertEquals("domain or domain_header is required\n", r.body());
    r = call("GET", "?domain=check&descriptor=a:nowhere");
    assertEquals(400, r.statusCode());
    assertTrue(r.body().startsWith("descriptor[0] entry 'a': unknown source 'nowhere'"), r.body());
    // A mapping that is too long is a 400; a request value that is too long is not (it is
    // counted under its hash, see CheckHeaderPrecedenceTest).
    r = call("GET", "?domain=check&descriptor=a:=" + "v".repeat(1025));
    assertEquals(400, r.statusCode());
    assertTrue(r.body().contains("1024"), r.body());
    r = call("GET", "?domain=check&descriptor=a:header.X-Long", "X-Long", "v".repeat(1025));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(404, call("GET", "/extra?domain=check&descriptor=a:=b").statusCode());
  }

  @Test
  void callsAreCountedUnderTransportCheck() throws Exception {
    call("GET", "?domain=check&descriptor=other:=metrics");
    String text = LIMITER.limiter().get("/metrics").body();
    assertTrue(text.contains("ratelimit_requests_seconds_count{code=\"OK\",transport=\"check\"}"),
        text);
  }
}
