package io.tollgate.limiter.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.tollgate.limiter.api.StatusMapping;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.metrics.LimiterMetrics.Outcome;
import io.tollgate.limiter.metrics.LimiterMetrics.Transport;
import io.tollgate.limiter.service.RateLimitService;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The HTTP endpoints.
 *
 * <ul>
 *   <li>{@code GET /healthz} and {@code GET /healthcheck}: 200 {@code OK} when serving, 503
 *       otherwise;
 *   <li>{@code GET /metrics}: Prometheus text;
 *   <li>{@code POST /json}: a {@code RateLimitRequest} in proto3 JSON; answers the
 *       {@code RateLimitResponse} in proto3 JSON, 200 when OK and 429 when OVER_LIMIT, or 400 with
 *       the reason for a malformed body or a failed call, as envoyproxy/ratelimit does;
 *   <li>{@code /check}, any method: the decision for gateways that ask over HTTP, descriptors
 *       built from request headers ({@link CheckEndpoint}).
 * </ul>
 */
public final class HttpEndpoints {

  /** /json requests in progress at most. */
  static final int MAX_JSON_IN_FLIGHT = 1_000;
  /** Largest accepted /json body; a request within every bound is far smaller. */
  static final int MAX_BODY_BYTES = 4 * 1024 * 1024;
  /** How long /json waits for a decision before answering 400; the gRPC path has no such cap. */
  private static final long DECISION_TIMEOUT_MILLIS = 10_000;

  private final HttpServer server;
  private final ExecutorService executor;
  private final ExecutorService jsonExecutor;
  /** /json requests admitted and not yet answered; past this many, /json answers 503. */
  private final Semaphore jsonPermits = new Semaphore(MAX_JSON_IN_FLIGHT);
  private final RateLimitService service;
  private final LimiterMetrics metrics;
  private final BooleanSupplier serving;
  private final CheckEndpoint check;
  private final JsonFormat.Parser parser = JsonFormat.parser();
  private final JsonFormat.Printer printer = JsonFormat.printer().omittingInsignificantWhitespace();

  /**
   * Binds the port; {@link #start()} begins serving.
   *
   * @param serving whether health checks should pass
   */
  public HttpEndpoints(InetSocketAddress address, RateLimitService service,
      LimiterMetrics metrics, BooleanSupplier serving) throws IOException {
    this.service = service;
    this.metrics = metrics;
    this.serving = serving;
    this.server = HttpServer.create(address, 128);
    // The JDK server reads each request's line and headers on this pool, so a client that
    // stalls holds a thread until sun.net.httpserver.maxReqTime (set by LimiterMain). Up to 32
    // threads, created on demand and retired when idle, keep health checks answered while a few
    // connections stall; the work itself (health, metrics, handing /json over) is quick.
    this.executor = elasticPool(32, "tollgate-http");
    // /json reads bodies and writes answers, which a slow client can stretch: its own pool keeps
    // that away from health checks, and admission is capped by jsonPermits.
    this.jsonExecutor = elasticPool(32, "tollgate-http-json");
    server.setExecutor(executor);
    server.createContext("/healthz", this::health);
    server.createContext("/healthcheck", this::health);
    server.createContext("/metrics", this::metrics);
    server.createContext("/json", this::json);
    this.check = new CheckEndpoint(service, metrics);
    server.createContext("/check", check);
  }

  /** Serves {@code path} and everything below it with {@code handler}; call before start. */
  public void addContext(String path, com.sun.net.httpserver.HttpHandler handler) {
    server.createContext(path, handler);
  }

  /** Starts serving. */
  public void start() {
    server.start();
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Stops serving, letting exchanges in progress finish for up to {@code seconds}. */
  public void stop(int seconds) {
    server.stop(seconds);
    executor.shutdownNow();
    jsonExecutor.shutdownNow();
    check.stop();
  }

  private void health(HttpExchange exchange) throws IOException {
    if (!exact(exchange) || !method(exchange, "GET", "HEAD")) {
      return;
    }
    boolean ok = serving.getAsBoolean();
    send(exchange, ok ? 200 : 503, "text/plain", ok ? "OK\n" : "NOT_SERVING\n");
  }

  private void metrics(HttpExchange exchange) throws IOException {
    if (!exact(exchange) || !method(exchange, "GET")) {
      return;
    }
    send(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
  }

  private void json(HttpExchange exchange) throws IOException {
    if (!exact(exchange) || !method(exchange, "POST")) {
      return;
    }
    long start = System.nanoTime();
    if (!jsonPermits.tryAcquire()) {
      metrics.recordRequest(Transport.JSON, Outcome.UNAVAILABLE, System.nanoTime() - start);
      send(exchange, 503, "text/plain", "too many /json requests in progress\n");
      return;
    }
    try {
      jsonExecutor.execute(() -> decideJson(exchange, start));
    } catch (RejectedExecutionException e) { // only once stopping
      jsonPermits.release();
      exchange.close();
    }
  }

  static ExecutorService elasticPool(int threads, String name) {
    ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, name);
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /**
   * Reads and decides one /json request on the /json pool, so that slow clients and a slow grid
   * never hold the threads that answer health checks. The answer is sent from the same pool.
   */
  private void decideJson(HttpExchange exchange, long start) {
    try {
      RateLimitRequest request;
      try {
        byte[] body = readBody(exchange.getRequestBody());
        if (body == null) {
          reply(exchange, start, Outcome.INVALID_ARGUMENT, 400, "text/plain",
              "request body is larger than " + MAX_BODY_BYTES + " bytes\n");
          return;
        }
        RateLimitRequest.Builder builder = RateLimitRequest.newBuilder();
        parser.merge(new String(body, StandardCharsets.UTF_8), builder);
        request = builder.build();
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        reply(exchange, start, Outcome.INVALID_ARGUMENT, 400, "text/plain",
            "invalid JSON RateLimitRequest: " + e.getMessage() + "\n");
        return;
      }
      service.shouldRateLimit(request)
          .orTimeout(DECISION_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
          .whenCompleteAsync((response, failure) -> {
            if (failure != null) {
              Throwable cause = StatusMapping.unwrap(failure);
              if (cause instanceof TimeoutException) {
                reply(exchange, start, Outcome.UNAVAILABLE, 400, "text/plain",
                    "no decision within " + DECISION_TIMEOUT_MILLIS + " ms\n");
              } else {
                reply(exchange, start, StatusMapping.outcome(cause), 400, "text/plain",
                    cause.getMessage() + "\n");
              }
              return;
            }
            boolean over = response.getOverallCode() == RateLimitResponse.Code.OVER_LIMIT;
            String json;
            try {
              json = printer.print(response);
            } catch (InvalidProtocolBufferException e) {
              reply(exchange, start, Outcome.INTERNAL, 400, "text/plain",
                  "cannot print the response: " + e.getMessage() + "\n");
              return;
            }
            reply(exchange, start, over ? Outcome.OVER_LIMIT : Outcome.OK, over ? 429 : 200,
                "application/json", json);
          }, jsonExecutor);
    } catch (IOException | RuntimeException e) {
      jsonPermits.release();
      exchange.close();
    }
  }

  /** Sends a /json answer and releases its admission permit; never throws. */
  private void reply(HttpExchange exchange, long start, Outcome outcome, int status,
      String contentType, String body) {
    jsonPermits.release();
    metrics.recordRequest(Transport.JSON, outcome, System.nanoTime() - start);
    try {
      send(exchange, status, contentType, body);
    } catch (IOException | RuntimeException e) {
      exchange.close();
    }
  }

  static byte[] readBody(InputStream in) throws IOException {
    byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
    return body.length > MAX_BODY_BYTES ? null : body;
  }

  private static boolean exact(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    if (path.equals(exchange.getHttpContext().getPath())) {
      return true;
    }
    send(exchange, 404, "text/plain", "not found\n");
    return false;
  }

  private static boolean method(HttpExchange exchange, String... allowed) throws IOException {
    String m = exchange.getRequestMethod();
    for (String a : allowed) {
      if (a.equals(m)) {
        return true;
      }
    }
    exchange.getResponseHeaders().set("Allow", String.join(", ", allowed));
    send(exchange, 405, "text/plain", "method " + m + " not allowed\n");
    return false;
  }

  static void send(HttpExchange exchange, int status, String contentType, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    boolean head = "HEAD".equals(exchange.getRequestMethod());
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      if (!head) {
        out.write(bytes);
      }
    }
  }
}
