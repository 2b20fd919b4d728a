package io.tollgate.limiter.http;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.netty.handler.codec.http.HttpHeaders;
import io.tollgate.limiter.api.StatusMapping;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.metrics.LimiterMetrics.Outcome;
import io.tollgate.limiter.metrics.LimiterMetrics.Transport;
import io.tollgate.limiter.service.InvalidRequestException;
import io.tollgate.limiter.protocol.RateLimitService;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * {@code /check}, any method: the decision endpoint for gateways that ask over HTTP (nginx
 * {@code auth_request}, Traefik {@code ForwardAuth}, the Kong plugin). The query string says how
 * to build the descriptors from the request's headers ({@link CheckMapping}); the answer is 200
 * when allowed and 429 when not, 400 with the reason for a bad mapping, 503 when the grid cannot
 * answer, always with a short text body.
 *
 * <p>Headers, for the gateway to copy to its client: {@code RateLimit-Policy} lists every limit
 * that applied ({@code "name";q=LIMIT;w=WINDOW_SECONDS}, IETF draft-ietf-httpapi-ratelimit-headers);
 * {@code RateLimit} ({@code "name";r=REMAINING;t=RESET_SECONDS}) and
 * {@code X-RateLimit-Limit}, {@code -Remaining}, {@code -Reset} describe the deciding limit: the
 * first that denied, else the one with the fewest units left; {@code t=} and {@code -Reset} are
 * whole seconds rounded up. A 429 carries {@code Retry-After}: the latest reset of all the limits
 * that denied (rounded up, at least 1), since retrying earlier is refused again. A request none
 * of whose descriptors matched a limit has none of them.
 *
 * <p>The usage-plan check, with API keys and plans, is {@code POST /v1/check}
 * ({@link PlanCheckEndpoint}).
 */
final class CheckEndpoint implements Consumer<Exchange> {

  /** /check calls in progress at most; past this many, /check answers 503. */
  static final int MAX_IN_FLIGHT = 1_000;
  /** How long /check waits for a decision before answering 503. */
  private static final long DECISION_TIMEOUT_MILLIS = 10_000;
  /** Parsed mappings kept by query string: a gateway sends the same few URLs again and again. */
  private static final int MAX_CACHED_MAPPINGS = 256;

  private final RateLimitService service;
  private final LimiterMetrics metrics;
  private final Semaphore permits = new Semaphore(MAX_IN_FLIGHT);
  private final ConcurrentHashMap<String, CheckMapping> mappings = new ConcurrentHashMap<>();

  CheckEndpoint(RateLimitService service, LimiterMetrics metrics) {
    this.service = service;
    this.metrics = metrics;
  }

  @Override
  public void accept(Exchange exchange) {
    long start = System.nanoTime();
    if (!permits.tryAcquire()) {
      metrics.recordRequest(Transport.CHECK, Outcome.UNAVAILABLE, System.nanoTime() - start);
      exchange.respond(503, "text/plain", "too many /check requests in progress\n");
      return;
    }
    RateLimitRequest request;
    try {
      request = mapping(exchange.rawQuery()).apply(
          name -> Utf8.header(exchange.joinedHeader(name), name), exchange.method());
    } catch (InvalidRequestException e) {
      reply(exchange, start, Outcome.INVALID_ARGUMENT, 400, e.getMessage() + "\n");
      return;
    }
    if (request == null) {
      reply(exchange, start, Outcome.OK, 200, "OK\n");
      return;
    }
    // The answer is built on the connection's event loop, not on the grid's callback thread.
    service.shouldRateLimit(request)
        .orTimeout(DECISION_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .whenCompleteAsync((response, failure) -> answer(exchange, start, request, response,
            failure), exchange.eventLoop());
  }

  private CheckMapping mapping(String rawQuery) {
    String key = rawQuery == null ? "" : rawQuery;
    CheckMapping m = mappings.get(key);
    if (m == null) {
      m = CheckMapping.parse(rawQuery);
      if (mappings.size() < MAX_CACHED_MAPPINGS) {
        mappings.put(key, m);
      }
    }
    return m;
  }

  private void answer(Exchange exchange, long start, RateLimitRequest request,
      RateLimitResponse response, Throwable failure) {
    if (failure != null) {
      Throwable cause = StatusMapping.unwrap(failure);
      if (cause instanceof TimeoutException) {
        reply(exchange, start, Outcome.UNAVAILABLE, 503,
            "no decision within " + DECISION_TIMEOUT_MILLIS + " ms\n");
      } else {
        reply(exchange, start, StatusMapping.outcome(cause), StatusMapping.httpStatus(cause),
            StatusMapping.message(cause) + "\n");
      }
      return;
    }
    boolean over = response.getOverallCode() == Code.OVER_LIMIT;
    try {
      addHeaders(request, response, exchange.responseHeaders());
    } catch (RuntimeException e) {
      reply(exchange, start, Outcome.INTERNAL, 500, "cannot build the headers\n");
      return;
    }
    reply(exchange, start, over ? Outcome.OVER_LIMIT : Outcome.OK, over ? 429 : 200,
        over ? "OVER_LIMIT\n" : "OK\n");
  }

  /** Sends an answer and releases the call's permit. */
  private void reply(Exchange exchange, long start, Outcome outcome, int status, String body) {
    permits.release();
    metrics.recordRequest(Transport.CHECK, outcome, System.nanoTime() - start);
    exchange.respond(status, "text/plain", body);
  }

  /** Adds the rate-limit headers of a decision to {@code out}; see the class comment. */
  static void addHeaders(RateLimitRequest request, RateLimitResponse response,
      HttpHeaders out) {
    StringBuilder policies = new StringBuilder();
    int decisive = -1;
    for (int i = 0; i < response.getStatusesCount(); i++) {
      DescriptorStatus s = response.getStatuses(i);
      if (!s.hasCurrentLimit()) {
        continue;
      }
      if (policies.length() > 0) {
        policies.append(", ");
      }
      policies.append('"').append(name(request, response, i)).append("\";q=")
          .append(Integer.toUnsignedString(s.getCurrentLimit().getRequestsPerUnit()));
      long window = windowSeconds(s.getCurrentLimit().getUnit());
      if (window > 0) {
        policies.append(";w=").append(window);
      }
      if (decisive < 0) {
        decisive = i;
        continue;
      }
      DescriptorStatus d = response.getStatuses(decisive);
      boolean denied = s.getCode() == Code.OVER_LIMIT;
      boolean decisiveDenied = d.getCode() == Code.OVER_LIMIT;
      if ((denied && !decisiveDenied) || (denied == decisiveDenied && !decisiveDenied
          && Integer.compareUnsigned(s.getLimitRemaining(), d.getLimitRemaining()) < 0)) {
        decisive = i;
      }
    }
    if (decisive < 0) {
      return;
    }
    DescriptorStatus d = response.getStatuses(decisive);
    String limit = Integer.toUnsignedString(d.getCurrentLimit().getRequestsPerUnit());
    String remaining = Integer.toUnsignedString(d.getLimitRemaining());
    long reset = ceilSeconds(d.getDurationUntilReset());
    out.set("RateLimit-Policy", policies.toString());
    out.set("RateLimit", "\"" + name(request, response, decisive) + "\";r=" + remaining + ";t="
        + reset);
    out.set("X-RateLimit-Limit", limit);
    out.set("X-RateLimit-Remaining", remaining);
    out.set("X-RateLimit-Reset", Long.toString(reset));
    if (response.getOverallCode() == Code.OVER_LIMIT) {
      // The request is refused until every denying limit has reset: the latest reset.
      long retry = 0;
      for (DescriptorStatus s : response.getStatusesList()) {
        if (s.getCode() == Code.OVER_LIMIT) {
          retry = Math.max(retry, ceilSeconds(s.getDurationUntilReset()));
        }
      }
      out.set("Retry-After", Long.toString(Math.max(1, retry)));
    }
  }

  /** A duration in whole seconds, rounded up: a client that waits that long finds it reset. */
  static long ceilSeconds(com.google.protobuf.Duration d) {
    long s = Math.max(0, d.getSeconds());
    return d.getNanos() > 0 && s < Long.MAX_VALUE ? s + 1 : s;
  }

  /**
   * A policy's name: the rule's {@code name}, else the descriptor's keys joined by {@code .};
   * characters a structured-field string cannot hold become {@code _}.
   */
  private static String name(RateLimitRequest request, RateLimitResponse response, int i) {
    String name = response.getStatuses(i).getCurrentLimit().getName();
    if (name.isEmpty()) {
      StringBuilder sb = new StringBuilder();
      for (RateLimitDescriptor.Entry e : request.getDescriptors(i).getEntriesList()) {
        sb.append(sb.length() == 0 ? "" : ".").append(e.getKey());
      }
      name = sb.toString();
    }
    StringBuilder safe = new StringBuilder(name.length());
    for (int k = 0; k < name.length(); k++) {
      char c = name.charAt(k);
      safe.append(c < 0x20 || c > 0x7e || c == '"' || c == '\\' ? '_' : c);
    }
    return safe.toString();
  }

  private static long windowSeconds(RateLimitResponse.RateLimit.Unit unit) {
    return switch (unit) {
      case SECOND -> 1;
      case MINUTE -> 60;
      case HOUR -> 3_600;
      case DAY -> 86_400;
      case WEEK -> 7 * 86_400;
      case MONTH -> 30 * 86_400;
      case YEAR -> 365 * 86_400;
      default -> 0;
    };
  }
}
