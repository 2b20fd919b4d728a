package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.tollgate.limiter.fuzzing.Fuzz;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the HTTP decoders of the limiter ({@code /json}, {@code /check}, {@code /v1/check}) with
 * generated requests sent as raw bytes over a socket, so that what no well-behaved client would
 * send (bytes that are not UTF-8, broken JSON, absurd numbers) reaches the server.
 *
 * <p>Every answer must be a decision or a refusal (never a 5xx, never a dropped connection on a
 * well-framed request); a refused request must count nothing, which a probe of its own counter
 * shows; and the limiter must still answer {@code /healthz} at the end.
 */
class HttpFuzzTest {

  private static final long LIMIT = 1_000_000;
  private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping()
      .create();
  private static final Pattern REMAINING = Pattern.compile("\"limitRemaining\":\\s*(\\d+)");
  private static final List<String> JSON_FIELDS = List.of("domain", "descriptors", "entries",
      "key", "value", "hitsAddend", "hits_addend", "limit", "requestsPerUnit", "unit", "fuzz",
      "user", "path", "bogus");

  private static InJvmLimiter limiter;

  @BeforeAll
  static void start() throws Exception {
    limiter = InJvmLimiter.start(resource("fuzz/rules.yaml"), new FakeClock());
  }

  @AfterAll
  static void stop() throws Exception {
    if (limiter != null) {
      limiter.close();
    }
  }

  /**
   * {@code /json} bodies: a valid request for a user of the case's own, mutated; documents built
   * from the API's field names; and a user value with bytes that are not UTF-8, which must be
   * refused rather than folded into another value's counter.
   */
  @Test
  void jsonRefusalsCountNothing() throws Throwable {
    Fuzz.check(Fuzz.cases(1500), fuzz -> {
      String user = "u" + fuzz;
      byte[] body;
      boolean mustRefuse = false;
      String probe = user;
      switch (fuzz.nextInt(3)) {
        case 0 -> body = fuzz.mutate(jsonFor(user), 3).getBytes(StandardCharsets.UTF_8);
        case 1 -> body = GSON.toJson(fuzz.tree(5, JSON_FIELDS)).getBytes(StandardCharsets.UTF_8);
        default -> {
          byte[] bad = fuzz.invalidUtf8();
          String decoded = new String(bad, StandardCharsets.UTF_8);
          probe = user + decoded;
          body = concat(("{\"domain\":\"fuzz\",\"descriptors\":[{\"entries\":[{\"key\":\"user\","
              + "\"value\":\"" + user).getBytes(StandardCharsets.UTF_8), bad,
              "\"}]}]}".getBytes(StandardCharsets.UTF_8));
          mustRefuse = true;
        }
      }
      Answer answer = send("POST", "/json", Map.of("Content-Type", "application/json"), body);
      if (mustRefuse) {
        assertEquals(400, answer.status, "bytes that are not UTF-8 must be refused: " + answer);
      } else {
        assertTrue(Set.of(200, 400, 413, 429).contains(answer.status), "unexpected " + answer);
      }
      if (answer.status == 400 || answer.status == 413) {
        assertNothingCounted(probe);
      }
    });
    assertEquals(200, send("GET", "/healthz", Map.of(), new byte[0]).status);
  }

  /**
   * {@code /check}: a fuzzed query string (the mapping) and a fuzzed {@code X-User} header, the
   * header sometimes with bytes that are not UTF-8.
   */
  @Test
  void checkRefusalsCountNothing() throws Throwable {
    Fuzz.check(Fuzz.cases(1000), fuzz -> {
      String user = "c" + fuzz.toString().replace(' ', '-');
      String query = "domain=fuzz&descriptor=user:header.X-User";
      if (fuzz.chance(0.5)) {
        query = fuzz.mutate(query, 3).replaceAll("[\\s\\x00-\\x1f\\x7f]", "%20")
            .replaceAll("[^\\x21-\\x7e]", "%C3%A9");
      }
      byte[] header = user.getBytes(StandardCharsets.UTF_8);
      boolean mustRefuse = false;
      String probe = user;
      if (fuzz.chance(0.3)) {
        byte[] bad = fuzz.invalidUtf8();
        header = concat(header, bad);
        probe = user + new String(bad, StandardCharsets.UTF_8);
        mustRefuse = query.equals("domain=fuzz&descriptor=user:header.X-User");
      }
      Answer answer = send("GET", "/check?" + query, Map.of(), new byte[0], "X-User", header);
      if (mustRefuse) {
        assertEquals(400, answer.status, "a header that is not UTF-8 must be refused: " + answer);
      } else {
        assertTrue(Set.of(200, 400, 414, 429, 431).contains(answer.status),
            "unexpected " + answer);
      }
      if (answer.status != 200 && answer.status != 429) {
        assertNothingCounted(probe);
      }
    });
    assertEquals(200, send("GET", "/healthz", Map.of(), new byte[0]).status);
  }

  /** {@code /v1/check} (the plan check): generated and mutated bodies; never a 5xx. */
  @Test
  void planCheckAnswersEveryBody() throws Throwable {
    List<String> fields = List.of("apiKey", "keyRequired", "api", "stage", "method", "route",
        "cost", "api_key", "key_required", "bogus");
    String valid = "{\"apiKey\":\"" + "k".repeat(40) + "\",\"keyRequired\":true,\"api\":\"petstore\","
        + "\"stage\":\"prod\",\"method\":\"GET\",\"route\":\"/pets\"}";
    Fuzz.check(Fuzz.cases(1000), fuzz -> {
      byte[] body = switch (fuzz.nextInt(3)) {
        case 0 -> fuzz.mutate(valid, 3).getBytes(StandardCharsets.UTF_8);
        case 1 -> GSON.toJson(fuzz.tree(4, fields)).getBytes(StandardCharsets.UTF_8);
        default -> concat(valid.substring(0, 12).getBytes(StandardCharsets.UTF_8),
            fuzz.invalidUtf8(), valid.substring(12).getBytes(StandardCharsets.UTF_8));
      };
      Answer answer = send("POST", "/v1/check", Map.of("Content-Type", "application/json"), body);
      assertTrue(Set.of(200, 400, 401, 403, 413, 429).contains(answer.status),
          "unexpected " + answer);
    });
    assertEquals(200, send("GET", "/healthz", Map.of(), new byte[0]).status);
  }

  /** A valid request for {@code user} takes exactly one unit: nothing before it took any. */
  private static void assertNothingCounted(String user) throws IOException {
    byte[] body = jsonFor(user).getBytes(StandardCharsets.UTF_8);
    Answer probe = send("POST", "/json", Map.of("Content-Type", "application/json"), body);
    assertEquals(200, probe.status, "probe " + probe);
    Matcher m = REMAINING.matcher(probe.body);
    assertTrue(m.find(), "no limitRemaining in " + probe);
    assertEquals(LIMIT - 1, Long.parseLong(m.group(1)),
        "a refused request was counted against " + user);
  }

  private static String jsonFor(String user) {
    return "{\"domain\":\"fuzz\",\"descriptors\":[{\"entries\":[{\"key\":\"user\",\"value\":"
        + GSON.toJson(user) + "}]}]}";
  }

  /** One answer: its status and body. */
  private record Answer(int status, String body) {
    @Override
    public String toString() {
      return status + " " + (body.length() > 300 ? body.substring(0, 300) + "..." : body);
    }
  }

  private static Answer send(String method, String target, Map<String, String> headers,
      byte[] body) throws IOException {
    return send(method, target, headers, body, null, null);
  }

  /** One HTTP/1.1 request on a fresh connection, written byte for byte. */
  private static Answer send(String method, String target, Map<String, String> headers,
      byte[] body, String rawName, byte[] rawValue) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", limiter.httpPort()), 10_000);
      socket.setSoTimeout(20_000);
      ByteArrayOutputStream request = new ByteArrayOutputStream();
      request.writeBytes((method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + "Connection: close\r\nContent-Length: " + body.length + "\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      for (Map.Entry<String, String> h : headers.entrySet()) {
        request.writeBytes((h.getKey() + ": " + h.getValue() + "\r\n")
            .getBytes(StandardCharsets.UTF_8));
      }
      if (rawName != null) {
        request.writeBytes((rawName + ": ").getBytes(StandardCharsets.ISO_8859_1));
        request.writeBytes(rawValue);
        request.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
      }
      request.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
      request.writeBytes(body);
      OutputStream out = socket.getOutputStream();
      out.write(request.toByteArray());
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] response;
      try {
        response = in.readAllBytes();
      } catch (SocketTimeoutException e) {
        throw new AssertionError("no answer within 20 s to " + method + " " + target);
      }
      String text = new String(response, StandardCharsets.UTF_8);
      if (!text.startsWith("HTTP/1.1 ")) {
        throw new AssertionError("no HTTP answer to " + method + " " + target + ": '" + text + "'");
      }
      int status = Integer.parseInt(text.substring(9, 12));
      int bodyAt = text.indexOf("\r\n\r\n");
      return new Answer(status, bodyAt < 0 ? "" : text.substring(bodyAt + 4));
    }
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      all.writeBytes(p);
    }
    return all.toByteArray();
  }

  private static Path resource(String name) throws URISyntaxException {
    return Path.of(HttpFuzzTest.class.getClassLoader().getResource(name).toURI());
  }
}
