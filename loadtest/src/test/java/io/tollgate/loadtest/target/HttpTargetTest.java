package io.tollgate.loadtest.target;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.tollgate.loadtest.target.Target.Outcome;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP target against a real HTTP server on a loopback port. */
class HttpTargetTest {

  private HttpServer server;
  private final List<String> seen = Collections.synchronizedList(new ArrayList<>());
  private final Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
  private volatile CountDownLatch hold = new CountDownLatch(0);

  @BeforeEach
  void start() throws IOException {
    System.setProperty("sun.net.httpserver.nodelay", "true");
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
    server.createContext("/", exchange -> {
      String body;
      try (InputStream in = exchange.getRequestBody()) {
        body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      clientPorts.add(exchange.getRemoteAddress().getPort());
      seen.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " x-key="
          + exchange.getRequestHeaders().getFirst("X-Key") + " body=" + body);
      try {
        hold.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      String path = exchange.getRequestURI().getPath();
      int status = path.startsWith("/deny") ? 429 : path.startsWith("/fail") ? 500 : 200;
      byte[] answer = "ok\n".getBytes(StandardCharsets.US_ASCII);
      exchange.sendResponseHeaders(status, answer.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(answer);
      }
    });
    server.setExecutor(Executors.newFixedThreadPool(16));
    server.start();
  }

  @AfterEach
  void stop() {
    hold.countDown();
    server.stop(0);
  }

  private String base() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Sends one request per key and waits for every outcome. */
  private static List<String> sendAll(HttpTarget target, int... keys) throws InterruptedException {
    List<String> outcomes = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch done = new CountDownLatch(keys.length);
    for (int k : keys) {
      target.send(new int[] {k}, (outcome, error) -> {
        outcomes.add(outcome + (error == null ? "" : " " + error));
        done.countDown();
      });
    }
    assertTrue(done.await(20, TimeUnit.SECONDS), "every request answered: " + outcomes);
    return outcomes;
  }

  @Test
  void classifiesAnswersAndFillsTheKeyEverywhere() throws Exception {
    try (HttpTarget ok = new HttpTarget(base() + "/items/{key}?k={key}", "POST",
        List.of("X-Key: key-{key}"), "{\"key\":{key}}", 5_000, 4)) {
      assertEquals(List.of("ALLOWED"), sendAll(ok, 7));
    }
    assertEquals(List.of("POST /items/7?k=7 x-key=key-7 body={\"key\":7}"), seen);
    try (HttpTarget deny = new HttpTarget(base() + "/deny", "GET", List.of(), "", 5_000, 4);
        HttpTarget fail = new HttpTarget(base() + "/fail", "GET", List.of(), "", 5_000, 4)) {
      assertEquals(List.of("DENIED"), sendAll(deny, 1));
      assertEquals(List.of("ERROR HTTP 500"), sendAll(fail, 1));
    }
  }

  @Test
  void reusesKeepAliveConnectionsAndNeverOpensMoreThanTheBound() throws Exception {
    hold = new CountDownLatch(1);
    try (HttpTarget target = new HttpTarget(base() + "/", "GET", List.of(), "", 5_000, 3)) {
      List<String> outcomes = Collections.synchronizedList(new ArrayList<>());
      CountDownLatch done = new CountDownLatch(30);
      for (int i = 0; i < 30; i++) {
        target.send(new int[] {i}, (outcome, error) -> {
          outcomes.add(outcome + (error == null ? "" : " " + error));
          done.countDown();
        });
      }
      // Three requests reach the server and are held there; the other 27 wait in the target.
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (seen.size() < 3 && System.nanoTime() < until) {
        Thread.sleep(10);
      }
      Thread.sleep(200);
      assertEquals(3, seen.size(), "requests on the wire: " + seen);
      hold.countDown();
      assertTrue(done.await(20, TimeUnit.SECONDS), "answered: " + outcomes.size());
      assertEquals(30, outcomes.stream().filter("ALLOWED"::equals).count(), outcomes.toString());
      assertEquals(30, seen.size());
      assertTrue(clientPorts.size() <= 3, "connections used: " + clientPorts);
      // Sent one after another, later requests reuse an idle connection.
      assertEquals(List.of("ALLOWED", "ALLOWED", "ALLOWED"), sendAll(target, 1, 2, 3));
      assertTrue(clientPorts.size() <= 3, "connections used: " + clientPorts);
    }
  }

  @Test
  void aLateAnswerIsATimeoutAndARefusedConnectionAnError() throws Exception {
    hold = new CountDownLatch(1);
    try (HttpTarget target = new HttpTarget(base() + "/", "GET", List.of(), "", 200, 2)) {
      assertEquals(List.of("ERROR timeout"), sendAll(target, 1));
    }
    hold.countDown();
    int port = server.getAddress().getPort();
    server.stop(0);
    try (HttpTarget target = new HttpTarget("http://127.0.0.1:" + port + "/", "GET", List.of(),
        "", 2_000, 2)) {
      List<String> outcomes = sendAll(target, 1, 2);
      assertTrue(outcomes.stream().allMatch(o -> o.startsWith("ERROR ")), outcomes.toString());
    }
  }

  /**
   * A raw server that answers the first {@code answered} requests of each connection and then
   * closes it when the next request arrives, without a word (a keep-alive connection closed by
   * its server as a request goes out).
   */
  private static java.net.ServerSocket closingServer(int answered, List<Integer> connections)
      throws IOException {
    java.net.ServerSocket listener = new java.net.ServerSocket(0, 16,
        java.net.InetAddress.getLoopbackAddress());
    Thread accept = new Thread(() -> {
      while (!listener.isClosed()) {
        try {
          java.net.Socket s = listener.accept();
          connections.add(s.getPort());
          Thread t = new Thread(() -> {
            try (s) {
              InputStream in = s.getInputStream();
              for (int n = 0; ; n++) {
                int state = 0;
                while (state < 4) {
                  int b = in.read();
                  if (b < 0) {
                    return;
                  }
                  state = (b == (state % 2 == 0 ? '\r' : '\n')) ? state + 1 : 0;
                }
                if (n >= answered) {
                  return;
                }
                s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
                    .getBytes(StandardCharsets.US_ASCII));
              }
            } catch (IOException e) {
              // the test ends
            }
          });
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    });
    accept.setDaemon(true);
    accept.start();
    return listener;
  }

  @Test
  void aKeepAliveConnectionClosedUnderARequestIsRetriedOnceOnANewOne() throws Exception {
    List<Integer> connections = Collections.synchronizedList(new ArrayList<>());
    try (java.net.ServerSocket listener = closingServer(1, connections);
        HttpTarget target = new HttpTarget("http://127.0.0.1:" + listener.getLocalPort() + "/",
            "GET", List.of(), "", 5_000, 1)) {
      // Each second request on a connection finds it closed and goes again on a fresh one.
      assertEquals(List.of("ALLOWED"), sendAll(target, 1));
      assertEquals(List.of("ALLOWED"), sendAll(target, 2));
      assertEquals(List.of("ALLOWED"), sendAll(target, 3));
      assertEquals(3, connections.size(), "connections: " + connections);
    }
  }

  @Test
  void aPostOnAClosedKeepAliveConnectionIsNeverSentTwice() throws Exception {
    List<Integer> connections = Collections.synchronizedList(new ArrayList<>());
    try (java.net.ServerSocket listener = closingServer(1, connections);
        HttpTarget target = new HttpTarget("http://127.0.0.1:" + listener.getLocalPort() + "/",
            "POST", List.of(), "{key}", 5_000, 1)) {
      assertEquals(List.of("ALLOWED"), sendAll(target, 1));
      assertEquals(List.of("ERROR connection closed before the answer"), sendAll(target, 2));
      assertEquals(1, connections.size(), "not sent again: " + connections);
    }
  }

  @Test
  void aFreshConnectionClosedUnderARequestIsAnError() throws Exception {
    List<Integer> connections = Collections.synchronizedList(new ArrayList<>());
    try (java.net.ServerSocket listener = closingServer(0, connections);
        HttpTarget target = new HttpTarget("http://127.0.0.1:" + listener.getLocalPort() + "/",
            "GET", List.of(), "", 5_000, 1)) {
      assertEquals(List.of("ERROR connection closed before the answer"), sendAll(target, 1));
      assertEquals(1, connections.size(), "not retried: " + connections);
    }
  }

  @Test
  void badArgumentsAreNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new HttpTarget("https://127.0.0.1:1/", "GET", List.of(), "", 1_000, 1));
    assertTrue(e.getMessage().contains("--url"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new HttpTarget("http://host{key}:1/", "GET", List.of(), "", 1_000, 1));
    assertTrue(e.getMessage().contains("--url"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new HttpTarget(base() + "/", "GET", List.of("no-colon"), "", 1_000, 1));
    assertTrue(e.getMessage().contains("--header"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new HttpTarget(base() + "/", "GET", List.of(), "", 1_000, 0));
    assertTrue(e.getMessage().contains("--connections"), e.getMessage());
  }
}
