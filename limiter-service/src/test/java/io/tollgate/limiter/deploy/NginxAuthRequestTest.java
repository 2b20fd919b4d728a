package io.tollgate.limiter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * deploy/nginx/tollgate.conf in Debian's nginx, unchanged but for its three addresses, in front
 * of a test upstream, asking an in-JVM limiter that runs deploy/nginx/rules.yaml.
 */
class NginxAuthRequestTest {

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final FakeClock CLOCK = new FakeClock();
  private static InJvmLimiter limiter;
  private static TestUpstream upstream;

  @BeforeAll
  static void startLimiterAndUpstream() throws Exception {
    Deploy.nginx();
    limiter = InJvmLimiter.start(Deploy.path("nginx/rules.yaml"), CLOCK);
    upstream = new TestUpstream();
  }

  /** Each test starts with fresh windows (an hour later, at the same offset in the minute). */
  @BeforeEach
  void nextHour() {
    CLOCK.advance(1, TimeUnit.HOURS);
  }

  @AfterAll
  static void stop() throws Exception {
    if (upstream != null) {
      upstream.close();
    }
    if (limiter != null) {
      limiter.close();
    }
  }

  /** The deploy config with its addresses pointed at this test's servers. */
  private static String config(int tollgatePort) throws Exception {
    String conf = Files.readString(Deploy.path("nginx/tollgate.conf"));
    for (String expected : new String[] {"server 127.0.0.1:8080;", "server 127.0.0.1:9000;",
        "listen 8000;"}) {
      assertTrue(conf.contains(expected), "tollgate.conf no longer has '" + expected + "'");
    }
    return conf.replace("server 127.0.0.1:8080;", "server 127.0.0.1:" + tollgatePort + ";")
        .replace("server 127.0.0.1:9000;", "server 127.0.0.1:" + upstream.port() + ";")
        .replace("listen 8000;", "listen 127.0.0.1:LISTEN_PORT;");
  }

  private static HttpResponse<String> send(Nginx nginx, String method, String path,
      String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + nginx.port + path))
        .method(method, HttpRequest.BodyPublishers.ofString(method.equals("POST") ? "{}" : ""));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name).orElse(null);
  }

  @Test
  void passesThenAnswers429WithTollgatesHeaders() throws Exception {
    try (Nginx nginx = Nginx.start("auth-request", "", config(limiter.httpPort()))) {
      int before = upstream.requests.get();
      // Two POSTs to /orders pass, the third is over post_per_path (2 a minute) and consumes
      // nothing; each passed request also took one of the client's 10 a second.
      for (int i = 1; i <= 2; i++) {
        HttpResponse<String> r = send(nginx, "POST", "/orders?id=" + i);
        assertEquals(200, r.statusCode(), nginx.logs());
        assertEquals("upstream POST /orders\n", r.body());
        assertEquals("\"remote_address\";q=10;w=1, \"post_per_path\";q=2;w=60",
            header(r, "RateLimit-Policy"));
        assertEquals("\"post_per_path\";r=" + (2 - i) + ";t=60", header(r, "RateLimit"));
        assertEquals("2", header(r, "X-RateLimit-Limit"));
        assertEquals(Integer.toString(2 - i), header(r, "X-RateLimit-Remaining"));
        assertEquals("60", header(r, "X-RateLimit-Reset"));
        assertEquals(null, header(r, "Retry-After"));
      }
      HttpResponse<String> post = send(nginx, "POST", "/orders");
      assertEquals(429, post.statusCode(), nginx.logs());
      assertEquals("\"post_per_path\";r=0;t=60", header(post, "RateLimit"));
      assertEquals("60", header(post, "Retry-After"));
      assertEquals(before + 2, upstream.requests.get());

      // GETs: 8 of the client's 10 are left for this second.
      for (int i = 1; i <= 8; i++) {
        HttpResponse<String> r = send(nginx, "GET", "/pets/" + i);
        assertEquals(200, r.statusCode());
        assertEquals("upstream GET /pets/" + i + "\n", r.body());
        assertEquals("\"remote_address\";r=" + (8 - i) + ";t=1", header(r, "RateLimit"));
        assertEquals("10", header(r, "X-RateLimit-Limit"));
      }
      HttpResponse<String> over = send(nginx, "GET", "/pets/9");
      assertEquals(429, over.statusCode());
      assertEquals("\"remote_address\";q=10;w=1", header(over, "RateLimit-Policy"));
      assertEquals("\"remote_address\";r=0;t=1", header(over, "RateLimit"));
      assertEquals("10", header(over, "X-RateLimit-Limit"));
      assertEquals("0", header(over, "X-RateLimit-Remaining"));
      assertEquals("1", header(over, "X-RateLimit-Reset"));
      assertEquals("1", header(over, "Retry-After"));
      assertEquals(before + 10, upstream.requests.get());
      assertTrue(limiter.metric("ratelimit_requests_seconds_count{code=\"OVER_LIMIT\","
          + "transport=\"check\"}") >= 2);
    }
  }

  @Test
  void failsOpenWhenTollgateIsUnreachable() throws Exception {
    int closed = FreePorts.next();
    try (Nginx nginx = Nginx.start("fail-open", "", config(closed))) {
      int before = upstream.requests.get();
      HttpResponse<String> r = send(nginx, "GET", "/pets/1");
      assertEquals(200, r.statusCode(), nginx.logs());
      assertEquals("upstream GET /pets/1\n", r.body());
      assertFalse(r.headers().firstValue("RateLimit").isPresent());
      assertEquals(before + 1, upstream.requests.get());
    }
  }

  /**
   * The auth subrequest carries the client's headers: the config must override every header
   * /check reads, or the client picks the method and path that are counted (review rev67).
   */
  @Test
  void clientCannotChooseTheMethodOrPathThatIsCounted() throws Exception {
    try (Nginx nginx = Nginx.start("spoof", "", config(limiter.httpPort()))) {
      int before = upstream.requests.get();
      for (int i = 1; i <= 3; i++) {
        // Dot segments and percent-encoding are normalised: all three are POST /spoofed.
        String path = i == 1 ? "/spoofed" : i == 2 ? "/x/../spoofed" : "/%73poofed";
        HttpResponse<String> r = send(nginx, "POST", path,
            "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/random-" + i,
            "X-Original-Method", "GET", "X-Original-URI", "/random-" + i,
            "X-Forwarded-Host", "spoofed.example", "X-Forwarded-Proto", "gopher");
        assertEquals(i <= 2 ? 200 : 429, r.statusCode(), nginx.logs());
        assertEquals("\"post_per_path\";r=" + Math.max(0, 2 - i) + ";t=60",
            header(r, "RateLimit"), i + " " + r.headers() + r.body() + nginx.logs());
      }
      assertEquals(before + 2, upstream.requests.get());
    }
  }

  /**
   * A URI over 1024 bytes once made /check answer 400, which this config let through without
   * any limit: now the URI is counted under its hash and the per-address limit still applies.
   */
  @Test
  void aLongUriIsStillLimited() throws Exception {
    try (Nginx nginx = Nginx.start("long-uri", "", config(limiter.httpPort()))) {
      String longPath = "/long/" + "a".repeat(1100);
      for (int i = 1; i <= 3; i++) {
        HttpResponse<String> r = send(nginx, "POST", longPath + "?q=" + "b".repeat(1100));
        assertEquals(i <= 2 ? 200 : 429, r.statusCode(), nginx.logs());
        assertEquals("\"remote_address\";q=10;w=1, \"post_per_path\";q=2;w=60",
            header(r, "RateLimit-Policy"));
      }
      for (int i = 3; i <= 10; i++) {
        HttpResponse<String> r = send(nginx, "GET", longPath);
        assertEquals(200, r.statusCode(), i + " " + r.headers() + nginx.logs());
      }
      HttpResponse<String> over = send(nginx, "GET", longPath);
      assertEquals(429, over.statusCode());
      assertEquals("\"remote_address\";r=0;t=1", header(over, "RateLimit"));
    }
  }

  /** A 400 from /check (a wrong /check URL) is a configuration error: 500, never a pass. */
  @Test
  void aBadRequestFromTollgateIsNotLetThrough() throws Exception {
    String conf = config(limiter.httpPort());
    assertTrue(conf.contains("check?domain=nginx&"));
    try (Nginx nginx = Nginx.start("bad-mapping", "",
        conf.replace("check?domain=nginx&", "check?domain=nginx&bogus=1&"))) {
      int before = upstream.requests.get();
      HttpResponse<String> r = send(nginx, "GET", "/pets/1");
      assertEquals(500, r.statusCode(), nginx.logs());
      assertEquals(before, upstream.requests.get());
    }
  }
}
