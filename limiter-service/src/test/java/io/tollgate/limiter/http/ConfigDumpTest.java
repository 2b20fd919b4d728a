package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /admin/config}: the loaded rules, one limit a line, behind the admin token. */
class ConfigDumpTest {

  private static final String TOKEN = "config-dump-token-0123456789";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path dir;

  @Test
  void listsEveryLoadedLimitAndFollowsReloadsButOnlyForTheToken() throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, """
        domain: edge
        descriptors:
          - key: remote_address
            rate_limits:
              - {requests_per_unit: 10, unit: second}
              - {requests_per_unit: 1000, unit: day, name: daily}
          - key: tenant
            shadow_mode: true
            rate_limit: {requests_per_unit: 3, unit: hour}
          - key: api_key
            rate_limit: {algorithm: token_bucket, requests_per_unit: 5, unit: second, burst: 20}
          - key: path
            value: /upload
            descriptors:
              - key: user
                value: "internal-*"
                rate_limit: {unlimited: true}
        """);
    try (InJvmLimiter limiter = InJvmLimiter.start(dir, new FakeClock(), "--admin-token",
        TOKEN)) {
      assertEquals(401, get(limiter, null).statusCode());
      assertEquals(401, get(limiter, "wrong-token-0123456789").statusCode());

      HttpResponse<String> dump = get(limiter, TOKEN);
      assertEquals(200, dump.statusCode());
      assertTrue(dump.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
      assertEquals("""
          edge.api_key: token_bucket 5/second burst=20 (rules.yaml)
          edge.path_/upload.user_internal-*: unlimited (rules.yaml)
          edge.remote_address: fixed_window 10/second (rules.yaml)
          edge.remote_address: fixed_window 1000/day name=daily (rules.yaml)
          edge.tenant: fixed_window 3/hour shadow_mode (rules.yaml)
          """, dump.body());

      // A reload is what the dump shows next; a bad edit keeps the last good rules.
      Files.writeString(file, """
          domain: edge
          descriptors:
            - key: remote_address
              rate_limit: {requests_per_unit: 7, unit: minute}
          """);
      Awaits.await("the reloaded rules in the dump", Duration.ofSeconds(20),
          () -> dump(limiter).equals(
              "edge.remote_address: fixed_window 7/minute (rules.yaml)\n"));
      Files.writeString(file, "domain: edge\ndescriptors: [{key: a, rate_limit: {unit: week}}]\n");
      Files.writeString(dir.resolve("other.yaml"), """
          domain: other
          descriptors:
            - key: k
              rate_limit: {requests_per_unit: 1, unit: hour}
          """);
      Awaits.await("a config check after the bad edit", Duration.ofSeconds(20),
          () -> limiter.metric("ratelimit_config_loads_total{result=\"error\"}") >= 1);
      String kept = get(limiter, TOKEN).body();
      assertEquals("edge.remote_address: fixed_window 7/minute (rules.yaml)\n", kept);
      assertFalse(kept.contains("other"), kept);

      HttpResponse<String> post = HTTP.send(request(limiter, TOKEN)
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(405, post.statusCode());
    }
  }

  /** The dump's text, for polling. */
  private static String dump(InJvmLimiter limiter) {
    try {
      return get(limiter, TOKEN).body();
    } catch (Exception e) {
      throw new IllegalStateException("cannot read /admin/config", e);
    }
  }

  private static HttpResponse<String> get(InJvmLimiter limiter, String token) throws Exception {
    return HTTP.send(request(limiter, token).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest.Builder request(InJvmLimiter limiter, String token) {
    HttpRequest.Builder b = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + limiter.httpPort() + "/admin/config"));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }
}
