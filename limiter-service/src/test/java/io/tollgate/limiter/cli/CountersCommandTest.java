package io.tollgate.limiter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code tollgate counters}: the request it sends and the table it prints. */
class CountersCommandTest {

  private static final String ANSWER = "{\"domain\":\"edge\",\"descriptor\":[{\"key\":\"user\","
      + "\"value\":\"ann\"}],\"reset\":false,\"counters\":[{\"rule\":\"hourly\",\"key\":\"k\","
      + "\"algorithm\":\"fixed_window\",\"limit\":3,\"remaining\":1,\"reset_after_seconds\":42,"
      + "\"shadow_mode\":false}]}";

  private HttpServer server;
  private volatile String method;
  private volatile String uri;
  private String url;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      method = exchange.getRequestMethod();
      uri = exchange.getRequestURI().getRawPath() + "?" + exchange.getRequestURI().getRawQuery();
      byte[] out = ANSWER.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, out.length);
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

  @Test
  void readsAndPrintsTheCounters() {
    CliRun r = CliRun.run(Map.of("TOLLGATE_URL", url, "RL_ADMIN_TOKEN", "t"), "counters",
        "--domain", "edge", "--descriptor", "user=ann b,k=v");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("GET", method);
    assertEquals("/admin/counters?domain=edge&descriptor=user%3Dann+b%2Ck%3Dv", uri);
    assertTrue(r.out().contains("hourly"), r.out());
    assertTrue(r.out().contains("fixed_window"), r.out());
    assertTrue(r.out().contains("42"), r.out());
  }

  @Test
  void resetSendsDelete() {
    CliRun r = CliRun.run(Map.of("TOLLGATE_URL", url, "RL_ADMIN_TOKEN", "t"), "counters",
        "--domain", "edge", "--descriptor", "user=ann", "--reset");
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("DELETE", method);
    assertTrue(r.out().startsWith("reset; now:\n"), r.out());
  }
}
