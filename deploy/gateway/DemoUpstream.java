import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A demo upstream for the gateway adapter: answers every request with JSON naming the path and a
 * counter of the requests it served, so a cached answer (same counter) is easy to tell from a
 * fresh one. JDK only: {@code java deploy/gateway/DemoUpstream.java 9000}.
 */
public class DemoUpstream {
  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 9000;
    // Without TCP_NODELAY the JDK server's separate header and body writes meet the client's
    // delayed ACK: about 40 ms per request.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    AtomicLong served = new AtomicLong();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      String body = "{\"path\":\"" + exchange.getRequestURI() + "\",\"served\":"
          + served.incrementAndGet() + ",\"at\":\"" + Instant.now() + "\"}\n";
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    server.start();
    System.out.println("demo upstream on http://127.0.0.1:" + port);
  }
}
