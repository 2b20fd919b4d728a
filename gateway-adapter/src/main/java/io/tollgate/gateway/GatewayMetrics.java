package io.tollgate.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The adapter's Prometheus meters. Labels are bounded by the config: stage names, route names
 * ({@code "GET /pets/{id}"}, or {@code none} when no route matched) and status codes; never a
 * path, key or client address.
 *
 * <ul>
 *   <li>{@code gateway_requests_seconds} (histogram) {stage, route, status}: latency and count</li>
 *   <li>{@code gateway_request_errors_total} {stage, route, status}: answers with status 5xx</li>
 *   <li>{@code gateway_requests_in_flight} {route}</li>
 *   <li>{@code gateway_cache_requests_total} {stage, result=hit|miss}</li>
 *   <li>{@code gateway_limiter_calls_seconds} (histogram) {result}: the limiter's latency</li>
 *   <li>{@code gateway_limiter_failures_total} {reason}: checks with no answer (deadline,
 *       unavailable, circuit_open, ...), each then handled by the failure mode</li>
 *   <li>{@code gateway_config_loads_total} {result=success|error}</li>
 * </ul>
 */
public final class GatewayMetrics {

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ConcurrentHashMap<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

  public GatewayMetrics() {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    configLoad("success", 0);
    configLoad("error", 0);
  }

  /** Registers a gauge of the limiter circuit breaker: 1 while it is open. */
  public void breakerGauge(Supplier<Number> open) {
    Gauge.builder("gateway_limiter_circuit_open", open).description(
        "1 while the limiter circuit breaker is open").register(registry);
  }

  /** Counts the connections to the limiter that were opened. */
  public Counter limiterConnectionsOpened() {
    return Counter.builder("gateway_limiter_connections_opened")
        .description("HTTP/2 connections to the limiter opened").register(registry);
  }

  /** The in-flight counter of a route; increment when a request starts. */
  public AtomicInteger inFlight(String route) {
    return inFlight.computeIfAbsent(route, r -> {
      AtomicInteger n = new AtomicInteger();
      Gauge.builder("gateway_requests_in_flight", n, AtomicInteger::get)
          .tag("route", r).description("requests being answered").register(registry);
      return n;
    });
  }

  /** The meters of one (stage, route, status): looked up once, then reused. */
  private record RequestKey(String stage, String route, int status) {}

  private record RequestMeters(Timer timer, Counter errors) {}

  // Registering through a builder on every call costs an id, its tags and a registry lookup per
  // request; these maps hold each meter once its labels were first seen (the labels are bounded
  // by the config, see above).
  private final ConcurrentHashMap<RequestKey, RequestMeters> requestMeters =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> limiterCalls = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> limiterFailures = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter[]> cacheLookups = new ConcurrentHashMap<>();

  /** One answered request. */
  public void request(String stage, String route, int status, long nanos) {
    RequestKey key = new RequestKey(stage, route, status);
    RequestMeters m = requestMeters.get(key);
    if (m == null) {
      m = requestMeters.computeIfAbsent(key, this::newRequestMeters);
    }
    m.timer().record(nanos, TimeUnit.NANOSECONDS);
    if (m.errors() != null) {
      m.errors().increment();
    }
  }

  private RequestMeters newRequestMeters(RequestKey k) {
    String s = Integer.toString(k.status());
    Timer timer = Timer.builder("gateway_requests")
        .tags("stage", k.stage(), "route", k.route(), "status", s)
        .description("requests by stage, route and status, and their latency")
        .publishPercentileHistogram().register(registry);
    Counter errors = k.status() < 500 ? null : Counter.builder("gateway_request_errors")
        .tags("stage", k.stage(), "route", k.route(), "status", s)
        .description("requests answered with a 5xx status").register(registry);
    return new RequestMeters(timer, errors);
  }

  /** A cache lookup of a cacheable request. */
  public void cache(String stage, boolean hit) {
    Counter[] c = cacheLookups.get(stage);
    if (c == null) {
      c = cacheLookups.computeIfAbsent(stage, st -> new Counter[] {
          cacheCounter(st, "miss"), cacheCounter(st, "hit")});
    }
    c[hit ? 1 : 0].increment();
  }

  private Counter cacheCounter(String stage, String result) {
    return Counter.builder("gateway_cache_requests").tags("stage", stage, "result", result)
        .description("cache lookups").register(registry);
  }

  /** One limiter call that answered ({@code result} its verdict) or failed ({@code error}). */
  public void limiterCall(String result, long nanos) {
    Timer t = limiterCalls.get(result);
    if (t == null) {
      t = limiterCalls.computeIfAbsent(result, r -> Timer.builder("gateway_limiter_calls")
          .tag("result", r)
          .description("calls to the limiter and their latency")
          .publishPercentileHistogram().register(registry));
    }
    t.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A check with no answer. */
  public void limiterFailure(String reason) {
    Counter c = limiterFailures.get(reason);
    if (c == null) {
      c = limiterFailures.computeIfAbsent(reason, r -> Counter.builder("gateway_limiter_failures")
          .tag("reason", r)
          .description("checks the limiter did not answer; the failure mode decided")
          .register(registry));
    }
    c.increment();
  }

  /** A config load or reload. */
  public void configLoad(String result, int n) {
    Counter.builder("gateway_config_loads").tag("result", result)
        .description("config loads and reloads").register(registry).increment(n);
  }

  /** Access-log lines dropped because the writer fell behind. */
  public Counter accessLogDropped() {
    return Counter.builder("gateway_access_log_dropped")
        .description("access log lines dropped because the writer fell behind")
        .register(registry);
  }

  /** The Prometheus text of every meter. */
  public String scrape() {
    return registry.scrape();
  }
}
