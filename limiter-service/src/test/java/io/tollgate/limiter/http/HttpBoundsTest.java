package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.LimiterExtension;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The HTTP port's bounds: connections that stall or idle cannot keep health checks from being
 * answered, and bodies are capped.
 */
class HttpBoundsTest {

  @RegisterExtension
  static final LimiterExtension LIMITER = new LimiterExtension("/service/rules.yaml");

  private static final int BODY_LIMIT = 64 * 1024;

  /** Sends one raw request on a new connection; returns the whole answer (read until close). */
  static String exchange(int port, String request, int timeoutMillis) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), timeoutMillis);
      s.setSoTimeout(timeoutMillis);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return readAnswer(s.getInputStream());
    }
  }

  /** Reads the status line, headers and a Content-Length body. */
  static String readAnswer(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        return head.toString();
      }
      head.append((char) b);
    }
    int length = 0;
    for (String line : head.toString().split("\r\n")) {
      if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    byte[] body = in.readNBytes(length);
    return head + new String(body, StandardCharsets.UTF_8);
  }

  private static int port() {
    return LIMITER.limiter().httpPort();
  }

  /**
   * How long {@code /healthz} may take with stalled connections open: half the request deadline
   * (10 s by default). A port whose threads those connections held would answer only once the
   * deadline had freed them, or never; the margin below it keeps a busy machine from failing the
   * test.
   */
  private static final int HEALTH_BOUND_MILLIS = 5_000;

  private static void assertHealthAnswersBeforeAnyDeadline() throws IOException {
    long start = System.nanoTime();
    String answer;
    try {
      answer = exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
          HEALTH_BOUND_MILLIS);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("/healthz did not answer within " + HEALTH_BOUND_MILLIS + " ms",
          e);
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertTrue(millis < HEALTH_BOUND_MILLIS, "/healthz took " + millis + " ms");
  }

  @Test
  void thirtyTwoPartialRequestLinesDoNotStopHealthChecks() throws Exception {
    List<Socket> stalled = new ArrayList<>();
    try {
      for (int i = 0; i < 32; i++) {
        Socket s = new Socket("127.0.0.1", port());
        s.getOutputStream().write("GET /hea".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        stalled.add(s);
      }
      assertHealthAnswersBeforeAnyDeadline();
    } finally {
      for (Socket s : stalled) {
        s.close();
      }
    }
  }

  @Test
  void thousandIdleConnectionsDoNotStopHealthChecks() throws Exception {
    List<Socket> idle = new ArrayList<>();
    try {
      for (int i = 0; i < 1_000; i++) {
        idle.add(new Socket("127.0.0.1", port()));
      }
      assertHealthAnswersBeforeAnyDeadline();
    } finally {
      for (Socket s : idle) {
        s.close();
      }
    }
  }

  @Test
  void partialRequestsAndBodiesTogetherDoNotStopHealthChecks() throws Exception {
    List<Socket> stalled = new ArrayList<>();
    try {
      for (int i = 0; i < 64; i++) {
        Socket s = new Socket("127.0.0.1", port());
        String partial = switch (i % 4) {
          case 0 -> "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
          case 1 -> "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
          case 2 -> "GET /check?domain=test&descriptor=one:=x HTTP/1.1\r\nHost: x\r\n";
          default -> "GET /metr";
        };
        s.getOutputStream().write(partial.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        stalled.add(s);
      }
      assertHealthAnswersBeforeAnyDeadline();
    } finally {
      for (Socket s : stalled) {
        s.close();
      }
    }
  }

  private static String post(String path, int bodyBytes) throws IOException {
    String body = "{\"domain\":\"" + "x".repeat(bodyBytes - 13) + "\"}";
    assertEquals(bodyBytes, body.length());
    return exchange(port(), "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: "
        + "application/json\r\nAuthorization: Bearer x\r\nContent-Length: " + body.length()
        + "\r\n\r\n" + body, 10_000);
  }

  @Test
  void bodiesOverSixtyFourKibibytesAreRefusedWithTheReason() throws Exception {
    for (String path : new String[] {"/json", "/v1/check", "/check?domain=test&descriptor=one:=x",
        "/admin/plans"}) {
      String answer = post(path, BODY_LIMIT + 1);
      assertTrue(answer.startsWith("HTTP/1.1 413"), path + ": " + answer);
      assertTrue(answer.contains("request body is larger than 65536 bytes"), path + ": " + answer);
    }
  }

  @Test
  void chunkedBodiesOverTheCapAreRefusedToo() throws Exception {
    String chunk = "x".repeat(16 * 1024);
    StringBuilder request = new StringBuilder("POST /json HTTP/1.1\r\nHost: x\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; i++) {
      request.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk)
          .append("\r\n");
    }
    request.append("0\r\n\r\n");
    String answer = exchange(port(), request.toString(), 10_000);
    assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
    assertTrue(answer.contains("request body is larger than 65536 bytes"), answer);
  }

  @Test
  void bodyAtTheCapIsRead() throws Exception {
    // A well-formed request of exactly 64 KiB is read and judged on its content (the domain is
    // longer than any domain may be).
    String answer = post("/json", BODY_LIMIT);
    assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    assertTrue(answer.contains("descriptors must not be empty")
        || answer.contains("domain is longer than"), answer);
  }
}
