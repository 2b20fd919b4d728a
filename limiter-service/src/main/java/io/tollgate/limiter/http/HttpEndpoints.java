package io.tollgate.limiter.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.netty.handler.ssl.SslContext;
import io.tollgate.limiter.api.StatusMapping;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.metrics.LimiterMetrics.Outcome;
import io.tollgate.limiter.metrics.LimiterMetrics.Transport;
import io.tollgate.limiter.protocol.RateLimitService;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The HTTP endpoints.
 *
 * <ul>
 *   <li>{@code GET /healthz} and {@code GET /healthcheck}: 200 {@code OK} when serving, 503
 *       otherwise;
 *   <li>{@code GET /metrics}: Prometheus text;
 *   <li>{@code POST /json}: a {@code RateLimitRequest} in proto3 JSON; answers the
 *       {@code RateLimitResponse} in proto3 JSON, 200 when OK and 429 when OVER_LIMIT, 400 with
 *       the reason for a malformed or invalid request (as envoyproxy/ratelimit does), 503 when
 *       the counters cannot answer (a gateway must not take a store outage for its own bad
 *       request), 500 for anything else;
 *   <li>{@code /check}, any method: the decision for gateways that ask over HTTP, descriptors
 *       built from request headers ({@link CheckEndpoint}).
 * </ul>
 *
 * Every body is capped at {@link HttpPort#MAX_BODY_BYTES} (413 with the reason).
 */
public final class HttpEndpoints {

  /** /json requests in progress at most. */
  static final int MAX_JSON_IN_FLIGHT = 1_000;
  /** How long /json waits for a decision before answering 503; the gRPC path has no such cap. */
  private static final long DECISION_TIMEOUT_MILLIS = 10_000;

  private final InetSocketAddress address;
  private final HttpPort.Limits limits;
  private final Supplier<SslContext> tls;
  /** Exact paths, and prefixes ending in {@code /}, to their handlers. */
  private final Map<String, Consumer<Exchange>> routes = new LinkedHashMap<>();
  /** /json requests admitted and not yet answered; past this many, /json answers 503. */
  private final Semaphore jsonPermits = new Semaphore(MAX_JSON_IN_FLIGHT);
  private final RateLimitService service;
  private final LimiterMetrics metrics;
  private final BooleanSupplier serving;
  private final JsonFormat.Parser parser = JsonFormat.parser();
  private final JsonFormat.Printer printer = JsonFormat.printer().omittingInsignificantWhitespace();
  private HttpPort port;

  /**
   * Prepares the endpoints; {@link #start()} binds the port.
   *
   * @param tls the TLS context for new connections, or {@code null} for plain HTTP
   * @param serving whether health checks should pass
   */
  public HttpEndpoints(InetSocketAddress address, HttpPort.Limits limits,
      Supplier<SslContext> tls, RateLimitService service, LimiterMetrics metrics,
      BooleanSupplier serving) {
    this.address = address;
    this.limits = limits;
    this.tls = tls;
    this.service = service;
    this.metrics = metrics;
    this.serving = serving;
    routes.put("/healthz", this::health);
    routes.put("/healthcheck", this::health);
    routes.put("/metrics", this::metrics);
    routes.put("/json", this::json);
    routes.put("/check", new CheckEndpoint(service, metrics));
  }

  /**
   * Serves {@code path} with {@code handler}: exactly that path, or, when it ends in {@code /},
   * everything below it. Call before {@link #start()}. The handler runs on an event loop and must
   * not block.
   */
  public void addContext(String path, Consumer<Exchange> handler) {
    routes.put(path, handler);
  }

  /** Binds the port and starts serving. */
  public void start() throws InterruptedException {
    port = new HttpPort(address, limits, tls, this::route);
  }

  /** The bound port. */
  public int port() {
    return port.port();
  }

  /** Stops serving, letting exchanges in progress finish for up to {@code seconds}. */
  public void stop(int seconds) {
    if (port != null) {
      port.stop(seconds * 1_000L);
    }
  }

  private void route(Exchange exchange) {
    String path = exchange.path();
    Consumer<Exchange> handler = routes.get(path);
    if (handler == null) {
      for (Map.Entry<String, Consumer<Exchange>> r : routes.entrySet()) {
        if (r.getKey().endsWith("/") && path.startsWith(r.getKey())) {
          handler = r.getValue();
          break;
        }
      }
    }
    if (handler == null) {
      exchange.respond(404, "text/plain", "not found\n");
      return;
    }
    handler.accept(exchange);
  }

  private void health(Exchange exchange) {
    if (!method(exchange, "GET", "HEAD")) {
      return;
    }
    boolean ok = serving.getAsBoolean();
    exchange.respond(ok ? 200 : 503, "text/plain", ok ? "OK\n" : "NOT_SERVING\n");
  }

  private void metrics(Exchange exchange) {
    if (!method(exchange, "GET")) {
      return;
    }
    exchange.respond(200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
  }

  private void json(Exchange exchange) {
    if (!method(exchange, "POST")) {
      return;
    }
    long start = System.nanoTime();
    if (!jsonPermits.tryAcquire()) {
      metrics.recordRequest(Transport.JSON, Outcome.UNAVAILABLE, System.nanoTime() - start);
      exchange.respond(503, "text/plain", "too many /json requests in progress\n");
      return;
    }
    RateLimitRequest request;
    try {
      RateLimitRequest.Builder builder = RateLimitRequest.newBuilder();
      parser.merge(Utf8.decode(exchange.body(), "request body"), builder);
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
              reply(exchange, start, Outcome.UNAVAILABLE, 503, "text/plain",
                  "no decision within " + DECISION_TIMEOUT_MILLIS + " ms\n");
            } else {
              reply(exchange, start, StatusMapping.outcome(cause),
                  StatusMapping.httpStatus(cause), "text/plain",
                  StatusMapping.message(cause) + "\n");
            }
            return;
          }
          boolean over = response.getOverallCode() == RateLimitResponse.Code.OVER_LIMIT;
          String json;
          try {
            json = printer.print(response);
          } catch (InvalidProtocolBufferException e) {
            reply(exchange, start, Outcome.INTERNAL, 500, "text/plain",
                "cannot print the response: " + e.getMessage() + "\n");
            return;
          }
          reply(exchange, start, over ? Outcome.OVER_LIMIT : Outcome.OK, over ? 429 : 200,
              "application/json", json);
        }, exchange.eventLoop());
  }

  /** Sends a /json answer and releases its admission permit. */
  private void reply(Exchange exchange, long start, Outcome outcome, int status,
      String contentType, String body) {
    jsonPermits.release();
    metrics.recordRequest(Transport.JSON, outcome, System.nanoTime() - start);
    exchange.respond(status, contentType, body);
  }

  static boolean method(Exchange exchange, String... allowed) {
    String m = exchange.method();
    for (String a : allowed) {
      if (a.equals(m)) {
        return true;
      }
    }
    exchange.responseHeaders().set("Allow", String.join(", ", allowed));
    exchange.respond(405, "text/plain", "method " + m + " not allowed\n");
    return false;
  }
}
