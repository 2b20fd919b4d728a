package io.tollgate.limiter.service;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.LimitUnit;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.StoreUnavailableException;
import io.tollgate.limiter.tracing.DecisionTracing;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Decides one {@code RateLimitRequest}, with envoyproxy/ratelimit's semantics and two
 * strengthenings: several limits per descriptor, and all-or-nothing consumption.
 *
 * <h2>All or nothing</h2>
 * Every limit of every descriptor is tried at once, each on its key's owner. If any limit denies
 * (outside shadow mode), the units the others granted are handed back with a refund call before
 * the answer is sent. So a denied request consumes nothing once its answer is out, and the limits
 * are never over-admitted: a unit is only ever granted by a limit that had it. The price is that a
 * concurrent request can, between the grant and the refund (one grid round trip), see those units
 * as taken and be denied where a serial order would have allowed it. Units of a window that ended
 * in between are not given back; they no longer count anyway.
 *
 * <h2>Semantics kept from envoyproxy/ratelimit</h2>
 * Statuses come in request order; a descriptor with no matching rule, or in an unknown domain, is
 * OK with no limit; an {@code unlimited} rule is OK with the maximum remaining; a descriptor's
 * {@code limit} override applies a fixed window of its own; {@code replaces} drops the named
 * limits of the same request; shadow-mode denials are counted and reported as OK; the request's
 * {@code hits_addend} (0 means 1) is the cost unless a descriptor sets its own; a denial in
 * {@code quota_mode} makes the request OVER_LIMIT only when every quota-mode descriptor is denied.
 */
public final class RateLimitService {

  private static final long MAX_UINT32 = 0xFFFF_FFFFL;
  /** Span attributes: the domain as sent (bounded by validation), never a descriptor value. */
  private static final AttributeKey<String> DOMAIN = AttributeKey.stringKey("ratelimit.domain");
  private static final AttributeKey<Long> DESCRIPTORS =
      AttributeKey.longKey("ratelimit.descriptors");
  private static final AttributeKey<String> OVERALL_CODE =
      AttributeKey.stringKey("ratelimit.overall_code");

  private final Supplier<RuleSet> rules;
  private final LimitStore store;
  private final LimiterMetrics metrics;
  private final ServiceOptions options;
  private final DecisionTracing tracing = DecisionTracing.fromGlobal();

  /**
   * @param rules the current rules; read once per request
   * @param store where limit state lives
   * @param metrics the meters to record in
   * @param options decision settings
   */
  public RateLimitService(Supplier<RuleSet> rules, LimitStore store, LimiterMetrics metrics,
      ServiceOptions options) {
    this.rules = Objects.requireNonNull(rules, "rules");
    this.store = Objects.requireNonNull(store, "store");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.options = Objects.requireNonNull(options, "options");
  }

  /**
   * Decides a request. Never blocks: the answer completes on a store thread.
   *
   * @return the response; fails with {@link InvalidRequestException} for a request out of bounds
   *     (nothing counted) or {@link StoreUnavailableException} when the grid cannot answer (the
   *     units of limits that answered are handed back; a call that failed after its owner applied
   *     it, e.g. when its backup did not acknowledge, may leave its units counted)
   */
  public CompletableFuture<RateLimitResponse> shouldRateLimit(RateLimitRequest request) {
    Span span = tracing.start("tollgate.should_rate_limit");
    return DecisionTracing.endWith(span, decide(request), (s, r) -> s
        .setAttribute(DOMAIN, request.getDomain())
        .setAttribute(DESCRIPTORS, request.getDescriptorsCount())
        .setAttribute(OVERALL_CODE, r.getOverallCode().name()));
  }

  private CompletableFuture<RateLimitResponse> decide(RateLimitRequest request) {
    try {
      RequestValidator.validate(request);
    } catch (InvalidRequestException e) {
      return CompletableFuture.failedFuture(e);
    }
    try {
      return new Evaluation(request, rules.get()).start();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** One request in flight. */
  private final class Evaluation {

    private final RateLimitRequest request;
    private final String domain;
    private final int descriptorCount;
    /** Per descriptor: the limits that apply, after {@code replaces}. */
    private final List<RateLimitRule>[] limits;
    private final long[] permits;
    /** Per descriptor, set only for value_to_metric / share_threshold domains: see PathMatch. */
    private String[][] keyValues;
    private String[] statKeys;
    private String[] detailedStatKeys;
    /** Per store call: descriptor index, rule, key and result. */
    private int calls;
    private int[] callDescriptor;
    private RateLimitRule[] callRule;
    private String[] callKey;
    private Decision[] results;
    /** Per store call: whether its units were handed back; written before the refunds complete. */
    private boolean[] refunded;
    /** Whether the request is over its limits; set once all calls answered. */
    private boolean over;
    private volatile Throwable failure;
    private AtomicInteger pending;
    private final CompletableFuture<RateLimitResponse> answer = new CompletableFuture<>();

    @SuppressWarnings("unchecked")
    Evaluation(RateLimitRequest request, RuleSet ruleSet) {
      this.request = request;
      this.domain = request.getDomain();
      this.descriptorCount = request.getDescriptorsCount();
      this.limits = new List[descriptorCount];
      this.permits = new long[descriptorCount];
      // uint32 on the wire: Java sees values from 2^31 as negative.
      long requestAddend = request.getHitsAddend() == 0
          ? 1 : Integer.toUnsignedLong(request.getHitsAddend());
      Set<String> replaced = null;
      for (int i = 0; i < descriptorCount; i++) {
        RateLimitDescriptor d = request.getDescriptors(i);
        permits[i] = d.hasHitsAddend() ? d.getHitsAddend().getValue() : requestAddend;
        List<RateLimitRule> matched;
        if (d.hasLimit() && ruleSet.hasDomain(domain)) {
          matched = List.of(RateLimitRule.override(
              Integer.toUnsignedLong(d.getLimit().getRequestsPerUnit()),
              LimitUnit.valueOf(d.getLimit().getUnit().name()), overrideStatKey(d)));
        } else if (ruleSet.usesPathFeatures(domain)) {
          RuleSet.PathMatch m = ruleSet.matchPath(domain, new View(d));
          matched = m.limits();
          if (keyValues == null) {
            keyValues = new String[descriptorCount][];
            statKeys = new String[descriptorCount];
            detailedStatKeys = new String[descriptorCount];
          }
          keyValues[i] = m.keyValues();
          statKeys[i] = m.statKey();
          detailedStatKeys[i] = m.detailedStatKey();
        } else {
          matched = ruleSet.match(domain, new View(d));
        }
        limits[i] = matched;
        for (int j = 0; j < matched.size(); j++) {
          List<String> r = matched.get(j).replaces();
          if (!r.isEmpty()) {
            if (replaced == null) {
              replaced = new HashSet<>();
            }
            replaced.addAll(r);
          }
        }
      }
      if (replaced != null) {
        for (int i = 0; i < descriptorCount; i++) {
          List<RateLimitRule> kept = new java.util.ArrayList<>(limits[i].size());
          for (RateLimitRule rule : limits[i]) {
            // As in envoyproxy/ratelimit, an unlimited rule stays unlimited even when replaced.
            if (rule.unlimited() || rule.name().isEmpty() || !replaced.contains(rule.name())) {
              kept.add(rule);
            }
          }
          limits[i] = kept;
        }
      }
    }

    private String overrideStatKey(RateLimitDescriptor d) {
      StringBuilder sb = new StringBuilder(domain).append(".override");
      for (RateLimitDescriptor.Entry e : d.getEntriesList()) {
        sb.append('.').append(e.getKey());
      }
      return sb.toString();
    }

    CompletableFuture<RateLimitResponse> start() {
      int n = 0;
      for (int i = 0; i < descriptorCount; i++) {
        for (RateLimitRule rule : limits[i]) {
          if (!rule.unlimited()) {
            n++;
          }
        }
      }
      calls = n;
      if (n == 0) {
        answer.complete(respond());
        return answer;
      }
      callDescriptor = new int[n];
      callRule = new RateLimitRule[n];
      callKey = new String[n];
      results = new Decision[n];
      pending = new AtomicInteger(n);
      int c = 0;
      for (int i = 0; i < descriptorCount; i++) {
        for (RateLimitRule rule : limits[i]) {
          if (!rule.unlimited()) {
            callDescriptor[c] = i;
            callRule[c] = rule;
            callKey[c] = LimitKeys.key(domain, request.getDescriptors(i), rule,
                keyValues == null ? null : keyValues[i]);
            c++;
          }
        }
      }
      for (int k = 0; k < n; k++) {
        final int call = k;
        try {
          store.acquire(callKey[k], callRule[k].algorithm(), permits[callDescriptor[k]])
              .whenComplete((decision, error) -> onResult(call, decision, error));
        } catch (RuntimeException e) {
          onResult(call, null, e);
        }
      }
      return answer;
    }

    private void onResult(int call, Decision decision, Throwable error) {
      if (error != null) {
        failure = error;
        metrics.storeError(false);
      } else {
        results[call] = decision;
      }
      if (pending.decrementAndGet() == 0) {
        finish();
      }
    }

    private void finish() {
      try {
        Throwable f = failure;
        over = f == null && overLimit();
        boolean refund = f != null || (over && !options.globalShadowMode());
        List<CompletableFuture<Boolean>> refunds = refund ? refundGranted() : List.of();
        if (refunds.isEmpty()) {
          complete(f);
        } else {
          // Answer only once the units are back, so the caller's next request sees them.
          CompletableFuture.allOf(refunds.toArray(CompletableFuture[]::new))
              .whenComplete((ignored, error) -> complete(f));
        }
      } catch (Throwable e) {
        answer.completeExceptionally(e);
      }
    }

    /** Hands back every unit that was granted; a refund that fails is counted, not retried. */
    private List<CompletableFuture<Boolean>> refundGranted() {
      List<CompletableFuture<Boolean>> refunds = new java.util.ArrayList<>();
      refunded = new boolean[calls];
      for (int k = 0; k < calls; k++) {
        Decision d = results[k];
        if (d != null && d.allowed() && d.permits() > 0) {
          final int call = k;
          CompletableFuture<Boolean> r;
          try {
            r = store.refund(callKey[k], callRule[k].algorithm(), d).toCompletableFuture();
          } catch (RuntimeException e) {
            r = CompletableFuture.failedFuture(e);
          }
          refunds.add(r.whenComplete((changed, error) -> {
            if (error != null) {
              metrics.storeError(true);
            } else {
              refunded[call] = true;
            }
          }));
        }
      }
      return refunds;
    }

    private void complete(Throwable f) {
      try {
        if (f != null) {
          answer.completeExceptionally(new StoreUnavailableException(
              "the limit store did not answer: " + rootMessage(f), f));
          return;
        }
        for (int k = 0; k < calls; k++) {
          Decision d = results[k];
          RateLimitRule rule = callRule[k];
          String statKey = statKey(callDescriptor[k], rule);
          long near = (long) Math.floor(d.limit() * options.nearLimitRatio());
          metrics.ruleStats(statKey).record(d.permits(), d.allowed(), rule.shadowMode(), d.used(),
              near);
        }
        answer.complete(respond());
      } catch (Throwable e) {
        answer.completeExceptionally(e);
      }
    }

    /**
     * Whether the request is over its limits, as envoyproxy/ratelimit decides it: some descriptor
     * outside quota mode is denied (outside shadow mode), or every quota-mode descriptor is.
     */
    private boolean overLimit() {
      int quotaDescriptors = 0;
      int quotaDenied = 0;
      int c = 0;
      for (int i = 0; i < descriptorCount; i++) {
        List<RateLimitRule> rules = limits[i];
        if (rules.isEmpty() || rules.get(0).unlimited()) {
          continue;
        }
        boolean denied = false;
        for (int j = 0; j < rules.size(); j++, c++) {
          denied |= !results[c].allowed() && !callRule[c].shadowMode();
        }
        if (rules.get(0).quotaMode()) {
          quotaDescriptors++;
          quotaDenied += denied ? 1 : 0;
        } else if (denied) {
          return true;
        }
      }
      return quotaDescriptors > 0 && quotaDenied == quotaDescriptors;
    }

    /** The metric name for a rule's decision on descriptor {@code i}. */
    private String statKey(int i, RateLimitRule rule) {
      boolean path = statKeys != null && statKeys[i] != null;
      if (rule.detailedMetric()) {
        return path && detailedStatKeys[i] != null ? detailedStatKeys[i]
            : LimitKeys.detailedStatKey(domain, request.getDescriptors(i));
      }
      return path ? statKeys[i] : rule.statKey();
    }

    private RateLimitResponse respond() {
      RateLimitResponse.Builder response = RateLimitResponse.newBuilder();
      DescriptorStatus closest = null;
      int c = 0;
      for (int i = 0; i < descriptorCount; i++) {
        List<RateLimitRule> rules = limits[i];
        if (rules.isEmpty()) {
          response.addStatuses(DescriptorStatus.newBuilder().setCode(Code.OK));
          continue;
        }
        if (rules.get(0).unlimited()) {
          response.addStatuses(DescriptorStatus.newBuilder().setCode(Code.OK)
              .setLimitRemaining((int) MAX_UINT32));
          continue;
        }
        // The deciding limit: the first that denied outside shadow mode, else the one with the
        // fewest units left.
        int decisive = -1;
        boolean decisiveDenied = false;
        for (int j = 0; j < rules.size(); j++, c++) {
          Decision d = results[c];
          boolean deniedHere = !d.allowed() && !callRule[c].shadowMode();
          if (decisive < 0 || (deniedHere && !decisiveDenied)
              || (deniedHere == decisiveDenied && remaining(c) < remaining(decisive))) {
            decisive = c;
            decisiveDenied = deniedHere;
          }
        }
        Decision d = results[decisive];
        RateLimitRule rule = callRule[decisive];
        DescriptorStatus status = DescriptorStatus.newBuilder()
            .setCode(decisiveDenied ? Code.OVER_LIMIT : Code.OK)
            .setCurrentLimit(RateLimitResponse.RateLimit.newBuilder()
                .setName(rule.name())
                .setRequestsPerUnit((int) rule.requestsPerUnit())
                .setUnit(RateLimitResponse.RateLimit.Unit.valueOf(rule.unit().name())))
            .setLimitRemaining((int) Math.min(MAX_UINT32,
                d.allowed() ? remaining(decisive) : 0))
            .setDurationUntilReset(Duration.newBuilder()
                .setSeconds(ceilSeconds(d.resetAfterNanos())))
            .build();
        response.addStatuses(status);
        // A quota-mode denial does not take the headers, as in envoyproxy/ratelimit.
        boolean forcesHeaders = decisiveDenied && !rule.quotaMode();
        if (options.responseHeaders()
            && (closest == null || (forcesHeaders && closest.getCode() != Code.OVER_LIMIT)
                || (closest.getCode() != Code.OVER_LIMIT
                    && Integer.compareUnsigned(status.getLimitRemaining(),
                        closest.getLimitRemaining()) < 0))) {
          closest = status;
        }
      }
      if (closest != null) {
        response.addResponseHeadersToAdd(header("RateLimit-Limit",
            Integer.toUnsignedString(closest.getCurrentLimit().getRequestsPerUnit())));
        response.addResponseHeadersToAdd(header("RateLimit-Remaining",
            Integer.toUnsignedString(closest.getLimitRemaining())));
        response.addResponseHeadersToAdd(header("RateLimit-Reset",
            Long.toString(closest.getDurationUntilReset().getSeconds())));
      }
      response.setOverallCode(over && !options.globalShadowMode() ? Code.OVER_LIMIT : Code.OK);
      return response.build();
    }

    /** Units left for a call, counting units handed back by a refund. */
    private long remaining(int call) {
      Decision d = results[call];
      return refunded != null && refunded[call] ? d.remaining() + d.permits() : d.remaining();
    }
  }

  private static HeaderValue header(String key, String value) {
    return HeaderValue.newBuilder().setKey(key).setValue(value).build();
  }

  private static long ceilSeconds(long nanos) {
    return nanos <= 0 ? 0 : (nanos + 999_999_999L) / 1_000_000_000L;
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage());
  }

  /** A descriptor seen through {@link DescriptorView}. */
  private record View(RateLimitDescriptor d) implements DescriptorView {
    @Override
    public int size() {
      return d.getEntriesCount();
    }

    @Override
    public String key(int i) {
      return d.getEntries(i).getKey();
    }

    @Override
    public String value(int i) {
      return d.getEntries(i).getValue();
    }
  }
}
