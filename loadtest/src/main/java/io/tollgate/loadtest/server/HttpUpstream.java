package io.tollgate.loadtest.server;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * A trivial HTTP upstream for the gateway-adapter comparison: answers every request 200 with a
 * short body. Reached directly, through nginx and through the adapter, it isolates what each hop
 * adds.
 */
public final class HttpUpstream implements AutoCloseable {

  private static final byte[] BODY = "ok\n".getBytes(StandardCharsets.US_ASCII);

  private final HttpServer server;

  public HttpUpstream(int port) throws IOException {
    // Without TCP_NODELAY the JDK server's separate header and body writes meet the client's
    // delayed ACK: about 40 ms per request on loopback.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 1024);
    server.createContext("/", exchange -> {
      try (InputStream in = exchange.getRequestBody()) {
        in.readAllBytes();
      }
      exchange.getResponseHeaders().add("Content-Type", "text/plain");
      exchange.sendResponseHeaders(200, BODY.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(BODY);
      }
    });
    // Fixed: the JDK server's default runs every exchange on its single dispatcher thread.
    server.setExecutor(Executors.newFixedThreadPool(
        Math.max(2, Runtime.getRuntime().availableProcessors())));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
