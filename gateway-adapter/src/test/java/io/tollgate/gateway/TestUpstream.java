package io.tollgate.gateway;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real upstream HTTP server for the tests (JDK HttpServer): counts requests per path, keeps
 * the headers of the last request per path, and serves a few special paths:
 * {@code /status/NNN} answers NNN, {@code /slow} answers after 3 s, {@code /big} answers 2 MiB,
 * {@code /upload} and {@code /upload/...} read the body and answer its length.
 */
final class TestUpstream implements AutoCloseable {

  final HttpServer server;
  final Map<String, AtomicLong> served = new ConcurrentHashMap<>();
  final Map<String, Map<String, List<String>>> lastHeaders = new ConcurrentHashMap<>();

  TestUpstream(int port) throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 50);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/", this::handle);
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  long served(String path) {
    AtomicLong n = served.get(path);
    return n == null ? 0 : n.get();
  }

  private void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    long n = served.computeIfAbsent(path, p -> new AtomicLong()).incrementAndGet();
    lastHeaders.put(path, Map.copyOf(ex.getRequestHeaders()));
    long bodyBytes = 0;
    try (InputStream in = ex.getRequestBody()) {
      byte[] buf = new byte[8192];
      int r;
      while ((r = in.read(buf)) >= 0) {
        bodyBytes += r;
      }
    }
    int status = 200;
    byte[] body;
    if (path.startsWith("/status/")) {
      status = Integer.parseInt(path.substring("/status/".length()));
      body = ("{\"status\":" + status + "}").getBytes(StandardCharsets.UTF_8);
    } else if (path.equals("/slow")) {
      try {
        Thread.sleep(3_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      body = "{\"slow\":true}".getBytes(StandardCharsets.UTF_8);
    } else if (path.equals("/big")) {
      body = new byte[2 << 20];
      java.util.Arrays.fill(body, (byte) 'x');
    } else if (path.equals("/upload") || path.startsWith("/upload/")) {
      body = ("{\"received\":" + bodyBytes + "}").getBytes(StandardCharsets.UTF_8);
    } else {
      body = ("{\"path\":\"" + ex.getRequestURI() + "\",\"served\":" + n + "}")
          .getBytes(StandardCharsets.UTF_8);
    }
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
    ex.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
