package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RouterTest {

  static final GatewayConfig CONFIG;

  static {
    try {
      CONFIG = ConfigLoader.parse("r.yaml", """
          api: a
          stages: [{name: prod}, {name: v2, prefix: /prod/v2}]
          routes:
            - {route: "GET /pets/{id}", upstreams: ["http://h:1"]}
            - {route: "GET /pets/mine", upstreams: ["http://h:1"]}
            - {route: "ANY /files/{path+}", upstreams: ["http://h:1"]}
            - {route: "POST /files/{path+}", upstreams: ["http://h:1"]}
            - {route: "GET /", upstreams: ["http://h:1"]}
          """);
    } catch (ConfigException e) {
      throw new IllegalStateException(e);
    }
  }

  static String route(String method, String path) {
    Router.Match m = Router.match(CONFIG, method, path);
    return m == null ? null : m.stage().name() + " " + m.route().name();
  }

  @Test
  void literalSegmentsBeatParametersAndExactMethodsBeatAny() {
    assertEquals("prod GET /pets/{id}", route("GET", "/prod/pets/7"));
    assertEquals("prod GET /pets/mine", route("GET", "/prod/pets/mine"));
    assertEquals("prod ANY /files/{path+}", route("GET", "/prod/files/a/b/c"));
    assertEquals("prod POST /files/{path+}", route("POST", "/prod/files/a/b"));
    assertEquals("prod GET /", route("GET", "/prod"));
    assertEquals(Map.of("path", "a/b/c"), Router.match(CONFIG, "PUT", "/prod/files/a/b/c")
        .params());
  }

  @Test
  void theLongestStagePrefixWinsAndTheRouteSeesThePathBelowIt() {
    Router.Match m = Router.match(CONFIG, "GET", "/prod/v2/pets/9");
    assertEquals("v2", m.stage().name());
    assertEquals("/pets/9", m.routePath());
    assertEquals(Map.of("id", "9"), m.params());
  }

  @Test
  void noMatchIsNull() {
    assertNull(route("GET", "/dev/pets/1"));
    assertNull(route("DELETE", "/prod/pets/1"));
    assertNull(route("GET", "/prod/pets/1/extra"));
    assertNull(route("GET", "/production/pets/1"));
    assertNull(route("GET", "/prod/files"));
  }
}
