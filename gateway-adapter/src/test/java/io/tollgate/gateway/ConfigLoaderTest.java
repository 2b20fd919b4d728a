package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.gateway.GatewayConfig.FailureMode;
import io.tollgate.gateway.GatewayConfig.Route;
import io.tollgate.gateway.GatewayConfig.UnauthorizedCacheControl;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

  static final String MINIMAL = """
      api: petstore
      stages: [{name: prod}]
      routes:
        - route: GET /pets/{id}
          upstreams: [http://127.0.0.1:9000]
      """;

  static String error(String yaml) {
    return assertThrows(ConfigException.class, () -> ConfigLoader.parse("a.yaml", yaml))
        .getMessage();
  }

  @Test
  void defaults() throws Exception {
    GatewayConfig c = ConfigLoader.parse("a.yaml", MINIMAL);
    assertEquals("x-api-key", c.apiKey().header());
    assertEquals(FailureMode.FAIL_OPEN, c.limiter().failureMode());
    assertEquals("/prod", c.stage("prod").prefix());
    assertFalse(c.stage("prod").cacheEnabled());
    assertEquals(300, c.stage("prod").ttlSeconds());
    Route r = c.routes().get(0);
    assertEquals("GET /pets/{id}", r.name());
    assertEquals(29_000, r.timeoutMillis());
    assertEquals(2, r.retries());
    assertFalse(r.apiKeyRequired());
    assertNull(r.cache().enabled());
    assertEquals(UnauthorizedCacheControl.SUCCEED_WITH_RESPONSE_HEADER,
        r.cache().unauthorizedCacheControl());
    assertNull(r.failureMode(), "a route without failure_mode takes the top-level one");
  }

  @Test
  void aRouteMayNameItsOwnFailureMode() throws Exception {
    GatewayConfig c = ConfigLoader.parse("a.yaml", MINIMAL + "    failure_mode: fail_closed\n");
    assertEquals(FailureMode.FAIL_CLOSED, c.routes().get(0).failureMode());
    assertEquals(FailureMode.FAIL_OPEN, c.limiter().failureMode());
    assertEquals("a.yaml:6: routes[0].failure_mode: unknown mode 'closed' (expected fail_open "
        + "or fail_closed)", error(MINIMAL + "    failure_mode: closed\n"));
  }

  @Test
  void theExampleConfigLoads() throws Exception {
    GatewayConfig c = ConfigLoader.load(Path.of("..", "deploy", "gateway", "adapter.yaml"));
    assertEquals("petstore", c.api());
    assertTrue(c.stage("prod").cacheEnabled());
  }

  @Test
  void errorsNameFileLineFieldAndProblem() {
    assertEquals("a.yaml:4: routes[0].route: unknown method 'FETCH' (expected one of GET, HEAD, "
        + "POST, PUT, PATCH, DELETE, OPTIONS, ANY)", error(MINIMAL.replace("GET", "FETCH")));
    assertEquals("a.yaml:5: routes[0].upstreams[0]: expected http://HOST:PORT or "
        + "h2c://HOST:PORT, got 'localhost:9000'",
        error(MINIMAL.replace("http://127.0.0.1:9000", "localhost:9000")));
    assertEquals("a.yaml:2: stages[0].nmae: unknown field (expected one of cache, name, prefix)",
        error(MINIMAL.replace("{name: prod}", "{nmae: prod}")));
    assertEquals("a.yaml:2: stages[0].cache.ttl_seconds: 3601 is out of range (0 to 3600)",
        error(MINIMAL.replace("{name: prod}", "{name: prod, cache: {ttl_seconds: 3601}}")));
    assertEquals("a.yaml:4: routes[0].route: a parameter must be a whole segment: 'x{id}'",
        error(MINIMAL.replace("{id}", "x{id}")));
    assertEquals("a.yaml:1: api: missing", error(MINIMAL.replace("api: petstore\n", "")));
    assertTrue(error(MINIMAL + "limiter: {failure_mode: open}\n")
        .startsWith("a.yaml:6: limiter.failure_mode: unknown mode 'open'"));
    assertTrue(error("api: [").startsWith("a.yaml:"));
    assertEquals("a.yaml:6: routes[1].route: duplicate route 'GET /pets/{id}'",
        error(MINIMAL + "  - {route: \"GET /pets/{id}\", upstreams: [\"http://h:1\"]}\n"));
    assertEquals("a.yaml:6: routes[0].cache.key_parameters[0]: the route has no path parameter "
        + "{name}", error(MINIMAL + "    cache: {key_parameters: [path.name]}\n"));
  }

  // --- what the limiter and the cache key can never accept ---

  /** "the cache key ... never the API key": a key parameter naming the key header is refused. */
  @Test
  void aCacheKeyParameterMayNotBeTheApiKey() {
    error(MINIMAL.replace("upstreams: [http://127.0.0.1:9000]",
        "upstreams: [http://127.0.0.1:9000]\n    cache: {key_parameters: [header.x-api-key]}"));
  }

  /** The limiter refuses routes over 1024 characters (INVALID_ARGUMENT): the config must too. */
  @Test
  void routeTemplatesTheLimiterRefusesAreRefusedHere() {
    error(MINIMAL.replace("/pets/{id}", "/" + "a".repeat(1100)));
  }
}
