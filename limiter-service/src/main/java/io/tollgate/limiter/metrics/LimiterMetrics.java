package io.tollgate.limiter.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Every meter of the service, registered once and looked up without allocation on the request
 * path.
 *
 * <ul>
 *   <li>{@code ratelimit_requests_seconds{transport,code}}: calls and their latency (histogram);
 *   <li>{@code ratelimit_total_hits_total{rule}}, {@code ratelimit_over_limit_total},
 *       {@code ratelimit_near_limit_total}, {@code ratelimit_within_limit_total},
 *       {@code ratelimit_shadow_mode_total}: per rule, in units;
 *   <li>{@code ratelimit_config_loads_total{result}}: loads and reloads, {@code success} or
 *       {@code error};
 *   <li>{@code ratelimit_store_errors_total{operation}}: grid calls that failed;
 *   <li>{@code ratelimit_rule_distinct_values_capped_total{rule}}: calls sent to a rule's
 *       overflow counter past its cap of distinct values;
 *   <li>{@code ratelimit_cluster_*}, {@code ratelimit_counters_*}: grid health gauges registered
 *       by the server;
 *   <li>Micrometer's JVM and process meters ({@code jvm_*}, {@code process_*}, {@code system_*}).
 * </ul>
 */
public final class LimiterMetrics {

  /** Transports a decision arrives by. */
  public enum Transport { GRPC, JSON, CHECK, RLQS }

  /** Outcomes of a call. */
  public enum Outcome { OK, OVER_LIMIT, INVALID_ARGUMENT, UNAVAILABLE, INTERNAL }

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Timer[][] requestTimers =
      new Timer[Transport.values().length][Outcome.values().length];
  private final ConcurrentHashMap<String, RuleStats> ruleStats = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> checkTimers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> cappedRules = new ConcurrentHashMap<>();
  private final Counter configLoadSuccess;
  private final Counter configLoadError;
  private final Counter acquireErrors;
  private final Counter refundErrors;

  /** Creates the registry and the fixed meters. */
  public LimiterMetrics() {
    for (Transport t : Transport.values()) {
      for (Outcome o : Outcome.values()) {
        requestTimers[t.ordinal()][o.ordinal()] = Timer.builder("ratelimit.requests")
            .description("Rate-limit calls and their latency")
            .tag("transport", t.name().toLowerCase(java.util.Locale.ROOT))
            .tag("code", o.name())
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofNanos(20_000))
            .maximumExpectedValue(Duration.ofSeconds(5))
            .register(registry);
      }
    }
    configLoadSuccess = Counter.builder("ratelimit.config_loads").tag("result", "success")
        .description("Configuration loads").register(registry);
    configLoadError = Counter.builder("ratelimit.config_loads").tag("result", "error")
        .description("Configuration loads").register(registry);
    acquireErrors = Counter.builder("ratelimit.store_errors").tag("operation", "acquire")
        .description("Grid calls that failed").register(registry);
    refundErrors = Counter.builder("ratelimit.store_errors").tag("operation", "refund")
        .description("Grid calls that failed").register(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  /** Records one call. */
  public void recordRequest(Transport transport, Outcome outcome, long nanos) {
    requestTimers[transport.ordinal()][outcome.ordinal()].record(nanos,
        java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /**
   * Records one usage-plan check.
   *
   * @param result allowed, throttled, quota_exceeded, forbidden, invalid_argument, unavailable
   *     or internal
   */
  public void recordCheck(String result, long nanos) {
    Timer t = checkTimers.get(result);
    if (t == null) {
      t = checkTimers.computeIfAbsent(result, r -> Timer.builder("tollgate.checks")
          .description("Usage-plan checks and their latency")
          .tag("result", r)
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofNanos(20_000))
          .maximumExpectedValue(Duration.ofSeconds(5))
          .register(registry));
    }
    t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /** The counters of the rule with this metric key, created on first use. */
  public RuleStats ruleStats(String rule) {
    RuleStats stats = ruleStats.get(rule);
    return stats != null ? stats : ruleStats.computeIfAbsent(rule, r -> new RuleStats(registry, r));
  }

  /**
   * Counts a call sent to its rule's overflow counter because the rule had reached its cap of
   * distinct values on this member ({@code ratelimit_rule_distinct_values_capped_total{rule}});
   * the rule label is the rule's config path, never a request value.
   */
  public void distinctValuesCapped(String rule) {
    Counter c = cappedRules.get(rule);
    if (c == null) {
      c = cappedRules.computeIfAbsent(rule, r -> Counter.builder(
          "ratelimit.rule.distinct_values_capped").tag("rule", r)
          .description("Calls sent to a rule's overflow counter: the rule had reached its cap "
              + "of distinct values on this member (--max-distinct-values-per-rule)")
          .register(registry));
    }
    c.increment();
  }

  /** Records a configuration load. */
  public void configLoaded(boolean success) {
    (success ? configLoadSuccess : configLoadError).increment();
  }

  /** Records a failed grid call. */
  public void storeError(boolean refund) {
    (refund ? refundErrors : acquireErrors).increment();
  }

  /** Registers a gauge read at scrape time. */
  public void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }

  /** Registers a monotonic counter read at scrape time. */
  public void functionCounter(String name, String description,
      java.util.function.ToDoubleFunction<Object> value, Object source) {
    io.micrometer.core.instrument.FunctionCounter.builder(name, source, value)
        .description(description).register(registry);
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }
}
