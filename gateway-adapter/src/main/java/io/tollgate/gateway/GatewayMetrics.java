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

  /** The in-flight counter of a route; increment when a request starts. */
  public AtomicInteger inFlight(String route) {
    return inFlight.computeIfAbsent(route, r -> {
      AtomicInteger n = new AtomicInteger();
      Gauge.builder("gateway_requests_in_flight", n, AtomicInteger::get)
          .tag("route", r).description("requests being answered").register(registry);
      return n;
    });
  }

  /** One answered request. */
  public void request(String stage, String route, int status, long nanos) {
    String s = Integer.toString(status);
    Timer.builder("gateway_requests").tags("stage", stage, "route", route, "status", s)
        .description("requests by stage, route and status, and their latency")
        .publishPercentileHistogram().register(registry).record(nanos, TimeUnit.NANOSECONDS);
    if (status >= 500) {
      Counter.builder("gateway_request_errors").tags("stage", stage, "route", route, "status", s)
          .description("requests answered with a 5xx status").register(registry).increment();
    }
  }

  /** A cache lookup of a cacheable request. */
  public void cache(String stage, boolean hit) {
    Counter.builder("gateway_cache_requests").tags("stage", stage, "result", hit ? "hit" : "miss")
        .description("cache lookups").register(registry).increment();
  }

  /** One limiter call that answered ({@code result} its verdict) or failed ({@code error}). */
  public void limiterCall(String result, long nanos) {
    Timer.builder("gateway_limiter_calls").tag("result", result)
        .description("calls to the limiter and their latency")
        .publishPercentileHistogram().register(registry).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A check with no answer. */
  public void limiterFailure(String reason) {
    Counter.builder("gateway_limiter_failures").tag("reason", reason)
        .description("checks the limiter did not answer; the failure mode decided")
        .register(registry).increment();
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
