package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the packaged adapter speaks HTTP/1.1 to its upstreams, seen from outside: connection reuse,
 * upstreams that close connections (announced or not), hang, cut a body short, stream a large
 * chunked body, send hop-by-hop headers, answer HEAD, 204 and 304; and the request headers an
 * upstream receives. These pin what any upstream client of the adapter must do, so it can be
 * replaced without a client or an upstream noticing.
 *
 * <p>The upstream is {@link RawUpstream}, HTTP/1.1 written by hand on a server socket, so the test
 * decides exactly when a connection is kept, closed or left hanging, and counts the connections
 * the adapter opens. {@link FakeLimiter} stands in for the limiter and allows every check.
 */
class GatewayUpstreamConnectionIT {

  /** The route timeout of {@code GET /hang}: short, so a hung upstream costs the test little. */
  static final long HANG_TIMEOUT_MILLIS = 500;
  static final int CHUNKED_BYTES = 4 << 20;
  static final int TRUNCATED_LENGTH = 100_000;
  static final int TRUNCATED_SENT = 10_000;
  static final String KEY = "upstream-connection-key-0123456789";

  @TempDir
  static Path dir;
  static RawUpstream upstream;
  static FakeLimiter limiter;
  static Processes.Proc adapter;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    assertTrue(Files.isRegularFile(Processes.ADAPTER_JAR), Processes.ADAPTER_JAR + " missing");
    upstream = new RawUpstream();
    limiter = new FakeLimiter(Processes.freePort());
    // Every path goes to the raw upstream; each route's timeout is short enough that a client
    // codec stuck waiting for bytes that never come shows as a 504 within the test, not a hang.
    Path config = dir.resolve("adapter.yaml");
    Files.writeString(config, """
        api: connections
        limiter: {failure_mode: fail_closed, deadline_ms: 2000}
        stages: [{name: prod}]
        routes:
          - route: ANY /{path+}
            upstreams: [UP]
            timeout_ms: 5000
          - route: GET /hang
            upstreams: [UP]
            timeout_ms: HANG
          - route: GET /echo
            upstreams: [UP]
            timeout_ms: 5000
            api_key_required: true
          - route: GET /by-name
            upstreams: [http://localhost:PORT]
        """.replace("UP", "http://127.0.0.1:" + upstream.port())
        .replace("PORT", Integer.toString(upstream.port()))
        .replace("HANG", Long.toString(HANG_TIMEOUT_MILLIS)));
    port = Processes.freePort();
    int admin = Processes.freePort();
    // The limiter by name as well: its connections look the name up like the upstreams'.
    adapter = Processes.adapter("upstream-connection", config, port, admin,
        "localhost:" + limiter.port());
    adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() throws Exception {
    Processes.closeAll(adapter, limiter, upstream);
  }


  static HttpResponse<byte[]> send(String method, String path, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/prod" + path)).method(method, HttpRequest.BodyPublishers.noBody())
        .timeout(Duration.ofSeconds(15));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return Processes.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static HttpResponse<byte[]> get(String path, String... headers) throws Exception {
    return send("GET", path, headers);
  }

  static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  /** A normal request answers 200: the adapter is still in working order after a bad one. */
  static void assertStillServes(String after) throws Exception {
    for (int i = 0; i < 3; i++) {
      HttpResponse<byte[]> r = get("/plain/" + after + "-" + i);
      assertEquals(200, r.statusCode(), "after " + after + ": " + text(r));
      assertEquals("served /plain/" + after + "-" + i, text(r));
    }
  }

  /**
   * Sequential requests share pooled upstream connections: 200 requests must not cost 200
   * connections (a client without keep-alive would pay a connect per request).
   */
  @Test
  void sequentialRequestsReuseUpstreamConnections() throws Exception {
    int before = upstream.accepted.get();
    for (int i = 0; i < 200; i++) {
      HttpResponse<byte[]> r = get("/reuse/" + i);
      assertEquals(200, r.statusCode(), text(r));
      assertEquals("served /reuse/" + i, text(r));
    }
    int opened = upstream.accepted.get() - before;
    assertTrue(opened <= 8, "200 sequential requests opened " + opened + " upstream connections");
  }

  /**
   * An upstream that answers {@code Connection: close} and closes: no request is lost, and the
   * close stays between adapter and upstream (the client's connection is not told to close).
   */
  @Test
  void anUpstreamClosingAfterEachAnswerLosesNothing() throws Exception {
    for (int i = 0; i < 30; i++) {
      HttpResponse<byte[]> r = get("/close-each/" + i);
      assertEquals(200, r.statusCode(), "request " + i + ": " + text(r));
      assertEquals("served /close-each/" + i, text(r));
      assertEquals(1, upstream.served("GET /close-each/" + i), "request " + i);
      for (String c : r.headers().allValues("connection")) {
        assertFalse(c.toLowerCase(Locale.ROOT).contains("close"), "request " + i + ": the "
            + "upstream's Connection: close reached the client");
      }
    }
  }

  /**
   * An upstream that silently closes a kept-alive connection about 50 ms after answering (no
   * {@code Connection: close}), as servers with a short idle timeout do: a pooled connection the
   * upstream has closed must not cost a client a 502, and no request reaches the upstream twice.
   */
  @Test
  void aPooledConnectionTheUpstreamClosedIsNotUsed() throws Exception {
    for (int i = 0; i < 10; i++) {
      HttpResponse<byte[]> r = get("/close-later/" + i);
      assertEquals(200, r.statusCode(), "request " + i + ": " + text(r));
      assertEquals("served /close-later/" + i, text(r));
      assertEquals(1, upstream.served("GET /close-later/" + i), "request " + i);
      Thread.sleep(300);
    }
  }

  /**
   * An upstream that never answers gets 504 at the route's timeout, is asked once (a timeout is
   * not retried: the upstream saw the request), and its connection is closed rather than pooled
   * (a later request on it would wait for the hung answer); the next request is served.
   */
  @Test
  void aHungUpstreamIs504AtTheRouteTimeoutAndItsConnectionIsDropped() throws Exception {
    upstream.hangEnded.clear();
    long start = System.nanoTime();
    HttpResponse<byte[]> r = get("/hang");
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(504, r.statusCode(), text(r));
    assertEquals("{\"message\":\"Gateway Timeout\"}", text(r));
    assertTrue(millis >= HANG_TIMEOUT_MILLIS - 50 && millis < HANG_TIMEOUT_MILLIS + 1_500,
        "504 after " + millis + " ms for a route timeout of " + HANG_TIMEOUT_MILLIS + " ms");
    assertNotNull(upstream.hangEnded.poll(5, TimeUnit.SECONDS),
        "the adapter kept the hung upstream connection open 5 s after its 504");
    assertEquals(1, upstream.served("GET /hang"), "a timed-out request was sent again");
    assertStillServes("hang");
  }

  /**
   * An upstream that promises 100,000 bytes, sends 10,000 and closes: the client must not get a
   * complete, well-formed 200 of that length (a cut-off answer or an error is fine, a padded or
   * re-framed one is not), the exchange ends instead of leaving the client waiting, the request
   * is not sent again, and the adapter goes on serving.
   */
  @Test
  void aBodyCutShortByTheUpstreamDoesNotReachTheClientAsComplete() throws Exception {
    byte[] answer = rawExchange("GET /prod/truncated HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Connection: close\r\n\r\n");
    String all = new String(answer, StandardCharsets.ISO_8859_1);
    int end = all.indexOf("\r\n\r\n");
    if (end >= 0) {
      String head = all.substring(0, end).toLowerCase(Locale.ROOT);
      int status = Integer.parseInt(head.substring(9, 12));
      int bodyLength = answer.length - end - 4;
      boolean complete;
      if (head.contains("\r\ntransfer-encoding: chunked")) {
        complete = all.endsWith("\r\n0\r\n\r\n");
      } else {
        int cl = head.indexOf("\r\ncontent-length: ");
        complete = cl >= 0 && bodyLength >= Long.parseLong(head.substring(cl + 18,
            head.indexOf('\r', cl + 2)).trim());
      }
      assertFalse(status == 200 && complete, "a cut-off upstream body reached the client as a "
          + "complete answer of " + bodyLength + " bytes: " + head);
    }
    assertEquals(1, upstream.served("GET /truncated"), "the request was sent again");
    assertStillServes("truncated");
  }

  /** A 4 MiB chunked answer in chunks of varied sizes arrives whole and unaltered. */
  @Test
  void aLargeChunkedAnswerArrivesIntact() throws Exception {
    HttpResponse<byte[]> r = get("/chunked");
    assertEquals(200, r.statusCode());
    assertEquals(CHUNKED_BYTES, r.body().length);
    assertEquals(crc(RawUpstream.CHUNKED_BODY), crc(r.body()), "the body's CRC-32");
    assertStillServes("chunked");
  }

  /**
   * End-to-end response headers pass through, repeated ones (two {@code Set-Cookie}) as
   * separate fields; the upstream's hop-by-hop ones do not: {@code Connection}, the header it
   * names, {@code Keep-Alive} (RFC 9110 7.6.1).
   */
  @Test
  void endToEndResponseHeadersPassAndHopByHopOnesDoNot() throws Exception {
    HttpResponse<byte[]> r = get("/headers");
    assertEquals(200, r.statusCode(), text(r));
    assertEquals("headers", text(r));
    assertEquals(List.of("custom-value"), r.headers().allValues("x-upstream-custom"));
    assertEquals(List.of("a=1; Path=/", "b=2; Path=/"), r.headers().allValues("set-cookie"));
    for (String c : r.headers().allValues("connection")) {
      assertFalse(c.toLowerCase(Locale.ROOT).contains("x-hop-marker"),
          "the upstream's Connection reached the client: " + c);
    }
    assertEquals(List.of(), r.headers().allValues("keep-alive"));
    assertEquals(List.of(), r.headers().allValues("x-hop-marker"));
  }

  /**
   * An answer to HEAD has no body whatever its {@code Content-Length}: the client gets the status
   * and the length without a body, and a client codec that waited for 1,000 bytes after it would
   * hang the HEAD (504) or take the next answer on that pooled connection as its body. Several
   * rounds, so the GETs do go over connections that carried a HEAD.
   */
  @Test
  void headAnswersHaveNoBodyAndLeaveTheConnectionUsable() throws Exception {
    for (int i = 0; i < 5; i++) {
      HttpResponse<byte[]> head = send("HEAD", "/sized");
      assertEquals(200, head.statusCode(), "HEAD " + i);
      assertEquals("1000", head.headers().firstValue("content-length").orElse(null),
          "HEAD " + i + ": " + head.headers().map());
      assertEquals(0, head.body().length, "HEAD " + i);
      HttpResponse<byte[]> got = get("/sized");
      assertEquals(200, got.statusCode(), "GET after HEAD " + i);
      assertArrayEquals(RawUpstream.SIZED_BODY, got.body(), "GET after HEAD " + i);
    }
    assertEquals(5, upstream.served("HEAD /sized"));
  }

  /**
   * 204 and 304 pass through without a body, the 304 although it carries the
   * {@code Content-Length} of the full representation (as RFC 9110 8.6 allows), and requests
   * after them on the same upstream are served.
   */
  @Test
  void noContentAndNotModifiedPassThroughWithoutABody() throws Exception {
    for (int i = 0; i < 3; i++) {
      HttpResponse<byte[]> none = get("/no-content");
      assertEquals(204, none.statusCode(), "round " + i);
      assertEquals(0, none.body().length, "round " + i);
      HttpResponse<byte[]> after = get("/plain/after-204-" + i);
      assertEquals(200, after.statusCode(), "after 204, round " + i + ": " + text(after));
      assertEquals("served /plain/after-204-" + i, text(after));

      HttpResponse<byte[]> same = get("/not-modified", "If-None-Match", "\"v1\"");
      assertEquals(304, same.statusCode(), "round " + i);
      assertEquals(0, same.body().length, "round " + i);
      assertEquals("\"v1\"", same.headers().firstValue("etag").orElse(null), "round " + i);
      after = get("/plain/after-304-" + i);
      assertEquals(200, after.statusCode(), "after 304, round " + i + ": " + text(after));
      assertEquals("served /plain/after-304-" + i, text(after));
    }
  }

  /**
   * What the upstream receives for a GET: an origin-form HTTP/1.1 request line with the query,
   * its own {@code host:port} as Host, the client's end-to-end headers, no API key, the client's
   * address in X-Forwarded-For, and no body framing (neither chunked nor a non-zero length).
   */
  @Test
  void theUpstreamReceivesItsHostTheClientsHeadersAndNoKey() throws Exception {
    HttpResponse<byte[]> r = get("/echo?q=1", "x-api-key", KEY, "X-Client-Custom", "from-client");
    assertEquals(200, r.statusCode(), text(r));
    RawUpstream.Request seen = upstream.last.get("/echo");
    assertNotNull(seen);
    assertEquals("GET /echo?q=1 HTTP/1.1", seen.line());
    assertEquals(List.of("127.0.0.1:" + upstream.port()), seen.all("host"));
    assertEquals(List.of("from-client"), seen.all("x-client-custom"));
    assertEquals(List.of(), seen.all("x-api-key"));
    assertEquals(List.of("127.0.0.1"), seen.all("x-forwarded-for"));
    assertEquals(List.of(), seen.all("transfer-encoding"));
    for (String length : seen.all("content-length")) {
      assertEquals("0", length, "a GET sent upstream with a body");
    }
  }

  /**
   * A kept-alive connection that the upstream closes without answering, once it has read the
   * next request on it (as a server closing an idle connection just as a request arrives looks
   * from the proxy): an idempotent request is sent once more, on a new connection, and answered.
   * The upstream here drops every request but the first on each connection, so every request
   * that went over a reused connection was dropped once.
   */
  @Test
  void anIdempotentRequestDroppedOnAReusedConnectionIsSentAgain() throws Exception {
    for (int i = 0; i < 6; i++) {
      HttpResponse<byte[]> r = get("/drop-reused/" + i);
      assertEquals(200, r.statusCode(), "request " + i + ": " + text(r));
      assertEquals("served /drop-reused/" + i, text(r));
      int seen = upstream.served("GET /drop-reused/" + i);
      assertTrue(seen == 1 || seen == 2, "request " + i + " reached the upstream " + seen
          + " times");
    }
  }

  /**
   * The same with POST, which may not be sent twice (RFC 9110 9.2.2): a dropped POST is a 502,
   * and no POST reaches the upstream more than once.
   */
  @Test
  void aDroppedPostIsNotSentAgain() throws Exception {
    int dropped = 0;
    for (int i = 0; i < 6; i++) {
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
          + "/prod/drop-reused-post/" + i)).POST(HttpRequest.BodyPublishers.ofString("{}"))
          .timeout(Duration.ofSeconds(15)).build();
      HttpResponse<byte[]> r = Processes.HTTP.send(req, HttpResponse.BodyHandlers.ofByteArray());
      assertTrue(r.statusCode() == 200 || r.statusCode() == 502, "POST " + i + ": "
          + r.statusCode() + " " + text(r));
      if (r.statusCode() == 502) {
        dropped++;
      }
      assertEquals(1, upstream.served("POST /drop-reused-post/" + i), "POST " + i);
    }
    assertTrue(dropped > 0, "no POST went over a reused connection");
  }

  /**
   * A client that goes away in the middle of an answer: the adapter closes its upstream
   * connection instead of reading the rest of the answer for nobody (or pooling it).
   */
  @Test
  void aClientLeavingMidAnswerClosesTheUpstreamConnection() throws Exception {
    upstream.endlessEnded.clear();
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /prod/endless HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
          .getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      byte[] buf = new byte[8192];
      int got = 0;
      for (int i = 0; i < 1_000 && got < 1_024; i++) {
        int n = s.getInputStream().read(buf);
        if (n < 0) {
          fail("the adapter closed the connection before the answer's first kilobyte");
        }
        got += n;
      }
    }
    assertNotNull(upstream.endlessEnded.poll(5, TimeUnit.SECONDS),
        "the adapter kept reading the upstream 5 s after its client left");
    assertStillServes("endless");
  }

  /**
   * A client that reads a large answer slowly holds the upstream back instead of making the
   * adapter buffer the answer: while the client reads nothing, the upstream cannot write
   * much more than the sockets in between hold (a few MiB on loopback), far from the 64 MiB it
   * has to send; once the client reads, all of it arrives.
   */
  @Test
  void aSlowClientHoldsTheUpstreamBack() throws Exception {
    upstream.streamed.set(0);
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setReceiveBufferSize(64 << 10);
      s.setSoTimeout(30_000);
      s.getOutputStream().write(("GET /prod/stream-64m HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + "Connection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[64 << 10];
      long total = in.read(buf);
      if (total < 0) {
        fail("no answer");
      }
      // The client reads nothing more until the upstream's writing has stalled (no progress
      // for 750 ms) or 5 s have passed.
      long written = upstream.streamed.get();
      for (int still = 0, i = 0; still < 3 && i < 20; i++) {
        Thread.sleep(250);
        long now = upstream.streamed.get();
        still = now == written ? still + 1 : 0;
        written = now;
      }
      assertTrue(written < RawUpstream.STREAM_BYTES / 2, "the upstream wrote " + written
          + " bytes to a client that read nothing: the adapter buffered them");
      for (int i = 0; i < 10_000_000; i++) {
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        total += n;
      }
      // Headers and chunk framing come on top of the body's bytes.
      assertTrue(total > RawUpstream.STREAM_BYTES, "read " + total + " bytes");
    }
    assertStillServes("stream");
  }

  /** An upstream given by host name (here from the hosts file) is looked up and reached. */
  @Test
  void anUpstreamGivenByNameIsReached() throws Exception {
    HttpResponse<byte[]> r = get("/by-name");
    assertEquals(200, r.statusCode(), text(r));
    assertEquals("served /by-name", text(r));
    assertEquals(List.of("localhost:" + upstream.port()),
        upstream.last.get("/by-name").all("host"));
  }

  static long crc(byte[] b) {
    CRC32 c = new CRC32();
    c.update(b);
    return c.getValue();
  }

  /**
   * Sends {@code request} on a new connection to the adapter and reads until the adapter closes
   * it; fails if it is still open after 10 s.
   */
  static byte[] rawExchange(String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) {
          all.write(buf, 0, n);
        }
      } catch (SocketTimeoutException stillOpen) {
        fail("the adapter neither finished nor closed the exchange within 10 s, after "
            + all.size() + " bytes");
      } catch (SocketException reset) {
        // an aborted answer may end in a reset
      }
      return all.toByteArray();
    }
  }

  /**
   * The upstream: HTTP/1.1 by hand on a server socket of 127.0.0.1, one thread per connection.
   * Its answer depends on the path (below, in {@link #answer}); it counts the connections it
   * accepted and the requests per method and path, and keeps each path's last request. Every
   * loop is bounded in count and every read in time; {@link #close} closes every socket.
   */
  static final class RawUpstream implements AutoCloseable {

    static final int MAX_CONNECTIONS = 2_000;
    static final int MAX_REQUESTS_PER_CONNECTION = 1_000;
    static final int MAX_HEADER_LINES = 100;
    static final int MAX_LINE = 8192;
    static final int MAX_CHUNKS = 10_000;
    /** A kept-alive connection idle this long is closed: longer than the test takes. */
    static final int IDLE_MILLIS = 60_000;
    /** How long {@code /hang} waits for the adapter to give up its connection. */
    static final int HANG_MILLIS = 15_000;
    static final byte[] SIZED_BODY = "s".repeat(1000).getBytes(StandardCharsets.US_ASCII);
    static final byte[] CHUNKED_BODY = new byte[CHUNKED_BYTES];
    static final long STREAM_BYTES = 64L << 20;

    static {
      new Random(42).nextBytes(CHUNKED_BODY);
    }

    /** A request as received: its request line and its header fields, names in lower case. */
    record Request(String line, Map<String, List<String>> headers) {
      String method() {
        return line.substring(0, line.indexOf(' '));
      }

      String path() {
        String target = line.substring(line.indexOf(' ') + 1, line.lastIndexOf(' '));
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
      }

      List<String> all(String name) {
        return headers.getOrDefault(name, List.of());
      }
    }

    final ServerSocket server;
    final AtomicInteger accepted = new AtomicInteger();
    final Map<String, AtomicInteger> served = new ConcurrentHashMap<>();
    final Map<String, Request> last = new ConcurrentHashMap<>();
    /** One entry each time the adapter closed a {@code /endless} connection. */
    final BlockingQueue<Long> endlessEnded = new LinkedBlockingQueue<>();
    /** Bytes of {@code /stream-64m} written so far. */
    final AtomicLong streamed = new AtomicLong();
    /** One entry each time the adapter closed a {@code /hang} connection. */
    final BlockingQueue<Long> hangEnded = new LinkedBlockingQueue<>();
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "raw-upstream");
      t.setDaemon(true);
      return t;
    });

    RawUpstream() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      threads.execute(this::acceptLoop);
    }

    int port() {
      return server.getLocalPort();
    }

    int served(String methodAndPath) {
      AtomicInteger n = served.get(methodAndPath);
      return n == null ? 0 : n.get();
    }

    private void acceptLoop() {
      while (!server.isClosed() && accepted.get() < MAX_CONNECTIONS) {
        try {
          Socket s = server.accept();
          accepted.incrementAndGet();
          open.add(s);
          threads.execute(() -> serve(s));
        } catch (IOException closed) {
          return;
        }
      }
    }

    private void serve(Socket s) {
      try (s) {
        s.setSoTimeout(IDLE_MILLIS);
        InputStream in = new BufferedInputStream(s.getInputStream());
        OutputStream out = new BufferedOutputStream(s.getOutputStream());
        for (int i = 0; i < MAX_REQUESTS_PER_CONNECTION; i++) {
          Request req = readRequest(in);
          if (req == null) {
            return;
          }
          served.computeIfAbsent(req.method() + " " + req.path(), k -> new AtomicInteger())
              .incrementAndGet();
          last.put(req.path(), req);
          if (!answer(req, i, s, in, out)) {
            return;
          }
        }
      } catch (IOException | InterruptedException ended) {
        // the adapter closed the connection, or close() did
      } finally {
        open.remove(s);
      }
    }

    /**
     * Answers {@code req}, the {@code onConnection}th request on its connection (from 0); false
     * when the connection is to be closed after it.
     */
    private boolean answer(Request req, int onConnection, Socket s, InputStream in,
        OutputStream out)
        throws IOException, InterruptedException {
      String path = req.path();
      switch (path) {
        case "/hang" -> {
          // Never answers; waits (bounded) until the adapter gives the connection up.
          s.setSoTimeout(HANG_MILLIS);
          long start = System.nanoTime();
          try {
            for (int i = 0; i < 1_000_000; i++) {
              if (in.read() < 0) {
                hangEnded.add((System.nanoTime() - start) / 1_000_000);
                break;
              }
            }
          } catch (SocketTimeoutException stillOpen) {
            // not given up: hangEnded stays empty
          } catch (SocketException reset) {
            hangEnded.add((System.nanoTime() - start) / 1_000_000);
          }
          return false;
        }
        case "/truncated" -> {
          out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
              + "Content-Length: " + TRUNCATED_LENGTH + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          out.write(new byte[TRUNCATED_SENT]);
          out.flush();
          return false;
        }
        case "/chunked" -> {
          out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          Random sizes = new Random(7);
          int sent = 0;
          for (int i = 0; i < CHUNKED_BYTES && sent < CHUNKED_BYTES; i++) {
            // 1 byte to 64 KiB + 17: chunks smaller and larger than any read buffer.
            int size = Math.min(CHUNKED_BYTES - sent, i % 10 == 0 ? 1 : 1 + sizes.nextInt(
                (64 << 10) + 17));
            out.write((Integer.toHexString(size) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(CHUNKED_BODY, sent, size);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            sent += size;
          }
          out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          return true;
        }
        case "/headers" -> {
          respond(out, "200 OK", "headers".getBytes(StandardCharsets.US_ASCII),
              "X-Upstream-Custom: custom-value", "Set-Cookie: a=1; Path=/",
              "Set-Cookie: b=2; Path=/", "Connection: keep-alive, X-Hop-Marker",
              "X-Hop-Marker: hop", "Keep-Alive: timeout=30, max=1000");
          return true;
        }
        case "/endless" -> {
          // A chunked answer that never ends; stops when the adapter closes the connection.
          out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          long start = System.nanoTime();
          byte[] chunk = ("400\r\n" + "e".repeat(1024) + "\r\n")
              .getBytes(StandardCharsets.US_ASCII);
          try {
            for (int i = 0; i < 300; i++) {
              out.write(chunk);
              out.flush();
              Thread.sleep(50);
            }
          } catch (SocketException closed) {
            endlessEnded.add((System.nanoTime() - start) / 1_000_000);
          }
          return false;
        }
        case "/stream-64m" -> {
          out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
          byte[] chunk = new byte[64 << 10];
          byte[] size = (Integer.toHexString(chunk.length) + "\r\n")
              .getBytes(StandardCharsets.US_ASCII);
          for (long sent = 0; sent < STREAM_BYTES; sent += chunk.length) {
            out.write(size);
            out.write(chunk);
            out.write('\r');
            out.write('\n');
            streamed.addAndGet(chunk.length);
          }
          out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          return true;
        }
        case "/sized" -> {
          if (req.method().equals("HEAD")) {
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                + SIZED_BODY.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
          } else {
            respond(out, "200 OK", SIZED_BODY);
          }
          return true;
        }
        case "/no-content" -> {
          out.write("HTTP/1.1 204 No Content\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          return true;
        }
        case "/not-modified" -> {
          out.write(("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 1000\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          out.flush();
          return true;
        }
        default -> {
          byte[] body = ("served " + path).getBytes(StandardCharsets.US_ASCII);
          if (path.startsWith("/drop-reused") && onConnection > 0) {
            return false; // read, never answered: the connection just closes
          }
          if (path.startsWith("/close-each/")) {
            respond(out, "200 OK", body, "Connection: close");
            return false;
          }
          respond(out, "200 OK", body);
          if (path.startsWith("/close-later/")) {
            // Kept alive as far as the adapter can tell, then closed without a word.
            Thread.sleep(50);
            return false;
          }
          return true;
        }
      }
    }

    private static void respond(OutputStream out, String status, byte[] body,
        String... headers) throws IOException {
      StringBuilder head = new StringBuilder("HTTP/1.1 ").append(status).append("\r\n");
      for (String h : headers) {
        head.append(h).append("\r\n");
      }
      head.append("Content-Type: text/plain\r\nContent-Length: ").append(body.length)
          .append("\r\n\r\n");
      out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
    }

    /** The next request, its body read and dropped; null when the connection ended first. */
    private static Request readRequest(InputStream in) throws IOException {
      String line = readLine(in);
      if (line == null) {
        return null;
      }
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (int i = 0; ; i++) {
        if (i == MAX_HEADER_LINES) {
          throw new IOException("too many header lines");
        }
        String h = readLine(in);
        if (h == null) {
          throw new EOFException("in the headers");
        }
        if (h.isEmpty()) {
          break;
        }
        int colon = h.indexOf(':');
        headers.computeIfAbsent(h.substring(0, colon).trim().toLowerCase(Locale.ROOT),
            k -> new ArrayList<>()).add(h.substring(colon + 1).trim());
      }
      Request req = new Request(line, headers);
      if (req.all("transfer-encoding").stream().anyMatch(v -> v.equalsIgnoreCase("chunked"))) {
        for (int i = 0; i < MAX_CHUNKS; i++) {
          String size = readLine(in);
          if (size == null) {
            throw new EOFException("in a chunked body");
          }
          int n = Integer.parseInt(size.split(";")[0].trim(), 16);
          skip(in, n);
          readLine(in);
          if (n == 0) {
            break;
          }
        }
      } else if (!req.all("content-length").isEmpty()) {
        skip(in, Long.parseLong(req.all("content-length").get(0)));
      }
      return req;
    }

    private static void skip(InputStream in, long n) throws IOException {
      for (long left = n; left > 0; ) {
        if (in.read() < 0) {
          throw new EOFException("in a body");
        }
        left--;
      }
    }

    /** A line without its CRLF; null at the end of the stream before any byte of it. */
    private static String readLine(InputStream in) throws IOException {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < MAX_LINE; i++) {
        int b = in.read();
        if (b < 0) {
          if (i == 0) {
            return null;
          }
          throw new EOFException("in a line");
        }
        if (b == '\n') {
          int len = sb.length();
          return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
        }
        sb.append((char) b);
      }
      throw new IOException("line over " + MAX_LINE + " bytes");
    }

    @Override
    public void close() throws IOException, InterruptedException {
      server.close();
      for (Socket s : open) {
        s.close();
      }
      threads.shutdownNow();
      threads.awaitTermination(10, TimeUnit.SECONDS);
    }
  }
}
