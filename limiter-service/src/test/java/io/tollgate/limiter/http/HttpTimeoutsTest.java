package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HTTP port's request deadline and idle timeout, set short here. The waits are on the
 * network (a closed socket), bounded by the socket read timeout.
 */
class HttpTimeoutsTest {

  private static InJvmLimiter limiter;

  @BeforeAll
  static void start() throws Exception {
    limiter = InJvmLimiter.start(Path.of(HttpTimeoutsTest.class.getResource(
        "/service/rules.yaml").toURI()), new FakeClock(), "--http-request-timeout-ms", "300",
        "--http-idle-timeout-ms", "500");
  }

  @AfterAll
  static void stop() throws Exception {
    if (limiter != null) {
      limiter.close();
    }
  }

  @Test
  void aRequestThatTricklesGets408AndIsClosed() throws Exception {
    try (Socket s = new Socket("127.0.0.1", limiter.httpPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /heal".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String answer = HttpBoundsTest.readAnswer(s.getInputStream());
      assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
      assertTrue(answer.contains("request not complete within 300 ms"), answer);
      assertEquals(-1, s.getInputStream().read(), "the connection stays open");
    }
  }

  @Test
  void aBodyThatStallsGets408() throws Exception {
    try (Socket s = new Socket("127.0.0.1", limiter.httpPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String answer = HttpBoundsTest.readAnswer(s.getInputStream());
      assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
    }
  }

  @Test
  void anIdleConnectionIsClosed() throws Exception {
    try (Socket s = new Socket("127.0.0.1", limiter.httpPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String answer = HttpBoundsTest.readAnswer(s.getInputStream());
      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      // Kept alive after the answer, then closed by the server once idle.
      assertEquals(-1, s.getInputStream().read());
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    try (Socket s = new Socket("127.0.0.1", limiter.httpPort())) {
      s.setSoTimeout(10_000);
      String json = "{\"domain\":\"test\",\"descriptors\":[{\"entries\":[{\"key\":\"five\","
          + "\"value\":\"pipelined\"}]}]}";
      s.getOutputStream().write(("POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: "
          + json.length() + "\r\n\r\n" + json + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      assertTrue(HttpBoundsTest.readAnswer(s.getInputStream()).contains("\"overallCode\":\"OK\""));
      assertTrue(HttpBoundsTest.readAnswer(s.getInputStream()).endsWith("\r\n\r\nOK\n"));
      assertTrue(HttpBoundsTest.readAnswer(s.getInputStream()).startsWith("HTTP/1.1 404"));
    }
  }
}
