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
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * deploy/kong's plugin (handler.lua, schema.lua, core.lua, unchanged) in Debian's nginx with
 * lua-nginx-module, through a stand-in for Kong's PDK (test resource kong/fake_kong.lua), in front
 * of a test upstream and asking an in-JVM limiter that runs deploy/kong/rules.yaml.
 */
class KongPluginTest {

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static InJvmLimiter limiter;
  private static TestUpstream upstream;
  private static Nginx nginx;

  @BeforeAll
  static void start() throws Exception {
    Deploy.nginx();
    Path luaModule = Deploy.nginxLuaModule();
    Path ndk = luaModule.resolveSibling("ndk_http_module.so");
    limiter = InJvmLimiter.start(Deploy.path("kong/rules.yaml"), new FakeClock());
    upstream = new TestUpstream();
    Path fakeKong = Path.of(KongPluginTest.class.getResource("/kong/fake_kong.lua").toURI());
    String live = "url = \"http://127.0.0.1:" + limiter.httpPort() + "/check\"";
    String dead = "url = \"http://127.0.0.1:" + FreePorts.next() + "/check\"";
    String http = "lua_package_path \"" + Deploy.path("kong") + "/?.lua;" + fakeKong.getParent()
        + "/?.lua;;\";\n"
        + "server {\n  listen 127.0.0.1:LISTEN_PORT;\n"
        + location("/keys/", live + ", domain = \"kong\", descriptors = {"
            + "\"remote_address:remote_address\", \"api_key:header.apikey\"}")
        + location("/hidden/", live + ", domain = \"kong\", descriptors = {"
            + "\"api_key:header.apikey\"}, hide_client_headers = true")
        + location("/bad-mapping/", live + ", domain = \"kong\", descriptors = {"
            + "\"a:nowhere\"}")
        + location("/down-tolerant/", dead + ", domain = \"kong\", descriptors = {"
            + "\"remote_address:remote_address\"}, timeout = 300")
        + location("/down-strict/", dead + ", domain = \"kong\", descriptors = {"
            + "\"remote_address:remote_address\"}, fault_tolerant = false, timeout = 300")
        + "}\n";
    nginx = Nginx.start("kong", "load_module " + ndk + ";\nload_module " + luaModule + ";", http);
  }

  private static String location(String path, String conf) {
    String call = "(\"%s\", {" + conf + "})";
    return "  location " + path + " {\n"
        + "    access_by_lua_block { require(\"fake_kong\").phase" + call.formatted("access") + " }\n"
        + "    header_filter_by_lua_block { require(\"fake_kong\").phase"
        + call.formatted("header_filter") + " }\n"
        + "    proxy_pass http://127.0.0.1:" + upstream.port() + ";\n"
        + "  }\n";
  }

  @AfterAll
  static void stop() throws Exception {
    if (nginx != null) {
      nginx.close();
    }
    if (upstream != null) {
      upstream.close();
    }
    if (limiter != null) {
      limiter.close();
    }
  }

  private static HttpResponse<String> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + nginx.port + path));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name).orElse(null);
  }

  @Test
  void passesWithHeadersThenAnswers429AsKongsRateLimitingDoes() throws Exception {
    int before = upstream.requests.get();
    for (int i = 1; i <= 3; i++) {
      HttpResponse<String> r = get("/keys/pets?i=" + i, "apikey", "alice");
      assertEquals(200, r.statusCode(), nginx.logs());
      assertEquals("upstream GET /keys/pets\n", r.body());
      assertEquals("\"remote_address\";q=100;w=1, \"api_key\";q=3;w=60",
          header(r, "RateLimit-Policy"));
      assertEquals("\"api_key\";r=" + (3 - i) + ";t=60", header(r, "RateLimit"));
      assertEquals("3", header(r, "X-RateLimit-Limit"));
      assertEquals(Integer.toString(3 - i), header(r, "X-RateLimit-Remaining"));
      assertEquals("60", header(r, "X-RateLimit-Reset"));
    }
    HttpResponse<String> over = get("/keys/pets", "apikey", "alice");
    assertEquals(429, over.statusCode(), nginx.logs());
    assertEquals("{\"message\":\"API rate limit exceeded\"}\n", over.body());
    assertEquals("\"api_key\";r=0;t=60", header(over, "RateLimit"));
    assertEquals("0", header(over, "X-RateLimit-Remaining"));
    assertEquals("60", header(over, "Retry-After"));
    assertEquals(before + 3, upstream.requests.get());
    // Another key has its own count; no key at all leaves only the per-address limit.
    assertEquals(200, get("/keys/pets", "apikey", "bob").statusCode());
    HttpResponse<String> anonymous = get("/keys/pets");
    assertEquals(200, anonymous.statusCode());
    assertEquals("\"remote_address\";q=100;w=1", header(anonymous, "RateLimit-Policy"));
  }

  @Test
  void hideClientHeadersKeepsTheHeadersFromTheClient() throws Exception {
    HttpResponse<String> r = get("/hidden/x", "apikey", "hidden-key");
    assertEquals(200, r.statusCode(), nginx.logs());
    assertFalse(r.headers().firstValue("RateLimit").isPresent());
    assertFalse(r.headers().firstValue("X-RateLimit-Limit").isPresent());
    for (int i = 0; i < 2; i++) {
      get("/hidden/x", "apikey", "hidden-key");
    }
    HttpResponse<String> over = get("/hidden/x", "apikey", "hidden-key");
    assertEquals(429, over.statusCode());
    assertFalse(over.headers().firstValue("Retry-After").isPresent());
  }

  @Test
  void faultTolerantLetsRequestsThroughWhenTollgateIsDown() throws Exception {
    HttpResponse<String> r = get("/down-tolerant/x");
    assertEquals(200, r.statusCode(), nginx.logs());
    assertEquals("upstream GET /down-tolerant/x\n", r.body());
    assertTrue(nginx.logs().contains("tollgate: cannot connect to 127.0.0.1:"), nginx.logs());
  }

  @Test
  void notFaultTolerantAnswers500WhenTollgateIsDown() throws Exception {
    int before = upstream.requests.get();
    HttpResponse<String> r = get("/down-strict/x");
    assertEquals(500, r.statusCode(), nginx.logs());
    assertEquals("{\"message\":\"An unexpected error occurred\"}\n", r.body());
    assertEquals(before, upstream.requests.get());
  }

  @Test
  void everyPluginFileIsInPlace() throws Exception {
    for (String f : new String[] {"handler.lua", "schema.lua", "core.lua"}) {
      assertTrue(Files.isRegularFile(Deploy.path("kong/kong/plugins/tollgate/" + f)), f);
    }
  }

  /** A 400 from /check (descriptors it cannot use) is a 500 even when fault_tolerant. */
  @Test
  void aBadRequestFromTollgateIsNeverLetThrough() throws Exception {
    int before = upstream.requests.get();
    HttpResponse<String> r = get("/bad-mapping/x");
    assertEquals(500, r.statusCode(), nginx.logs());
    assertEquals(before, upstream.requests.get());
    assertTrue(nginx.logs().contains("tollgate: Tollgate answered 400"), nginx.logs());
  }

  /** A URI over 1024 bytes once made /check a 400, which fault_tolerant let through. */
  @Test
  void aLongUriIsStillLimited() throws Exception {
    String path = "/keys/" + "a".repeat(1100) + "?q=" + "b".repeat(1100);
    for (int i = 1; i <= 3; i++) {
      HttpResponse<String> r = get(path, "apikey", "long-uri");
      assertEquals(200, r.statusCode(), nginx.logs());
      assertEquals("\"api_key\";r=" + (3 - i) + ";t=60", header(r, "RateLimit"));
    }
    assertEquals(429, get(path, "apikey", "long-uri").statusCode());
  }
}
