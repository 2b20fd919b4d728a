package io.tollgate.limiter.protocol;

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
import io.tollgate.limiter.decide.DistinctValueCap;
import io.tollgate.limiter.decide.RuleMatches;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.LimitUnit;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.service.InvalidRequestException;
import io.tollgate.limiter.service.ServiceOptions;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.StoreUnavailableException;
import io.tollgate.limiter.tracing.DecisionTracing;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
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
  private final DistinctValueCap distinctValues;

  /**
   * A service without a cap on distinct values per rule.
   *
   * @param rules the current rules; read once per request
   * @param store where limit state lives
   * @param metrics the meters to record in
   * @param options decision settings
   */
  public RateLimitService(Supplier<RuleSet> rules, LimitStore store, LimiterMetrics metrics,
      ServiceOptions options) {
    this(rules, store, metrics, options, DistinctValueCap.OFF);
  }

  /**
   * @param rules the current rules; read once per request
   * @param store where limit state lives
   * @param metrics the meters to record in
   * @param options decision settings
   * @param distinctValues the cap on the counters one rule may create on this member
   */
  public RateLimitService(Supplier<RuleSet> rules, LimitStore store, LimiterMetrics metrics,
      ServiceOptions options, DistinctValueCap distinctValues) {
    this.distinctValues = Objects.requireNonNull(distinctValues, "distinctValues");
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

  /** One request in flight: the Envoy mapping over the decision core. */
  private final class Evaluation extends io.tollgate.limiter.decide.Evaluation<RateLimitResponse> {

    private final RateLimitRequest request;
    private final int descriptorCount;
    private final RuleMatches matches;
    /** Per descriptor: its first call's number, or -1 when it makes none. */
    private final int[] firstCall;
    /** Whether the request is over its limits; set once all calls answered. */
    private boolean over;

    Evaluation(RateLimitRequest request, RuleSet ruleSet) {
      super(metrics, options.nearLimitRatio());
      this.request = request;
      String domain = request.getDomain();
      this.descriptorCount = request.getDescriptorsCount();
      this.matches = new RuleMatches(domain, descriptorCount);
      for (int i = 0; i < descriptorCount; i++) {
        RateLimitDescriptor d = request.getDescriptors(i);
        View view = new View(d);
        if (d.hasLimit() && ruleSet.hasDomain(domain)) {
          matches.set(i, view, List.of(RateLimitRule.override(
              Integer.toUnsignedLong(d.getLimit().getRequestsPerUnit()),
              LimitUnit.valueOf(d.getLimit().getUnit().name()), overrideStatKey(domain, d))));
        } else {
          matches.match(i, ruleSet, view);
        }
      }
      matches.applyReplaces();
      // uint32 on the wire: Java sees values from 2^31 as negative.
      long requestAddend = request.getHitsAddend() == 0
          ? 1 : Integer.toUnsignedLong(request.getHitsAddend());
      calls(matches.enforcedCount());
      firstCall = new int[descriptorCount];
      for (int i = 0; i < descriptorCount; i++) {
        RateLimitDescriptor d = request.getDescriptors(i);
        long permits = d.hasHitsAddend() ? d.getHitsAddend().getValue() : requestAddend;
        // A limit the request asks for itself is not a rule of the config: no cap.
        boolean capped = !(d.hasLimit() && ruleSet.hasDomain(domain));
        firstCall[i] = -1;
        List<RateLimitRule> rules = matches.limits(i);
        for (int j = 0; j < rules.size(); j++) {
          RateLimitRule rule = rules.get(j);
          if (!rule.unlimited()) {
            String key = matches.key(i, rule);
            if (capped) {
              key = distinctValues.admit(domain, rule, key);
            }
            int c = call(store, key, rule.algorithm(), permits,
                metrics.ruleStats(matches.statKey(i, rule)), rule.shadowMode());
            if (firstCall[i] < 0) {
              firstCall[i] = c;
            }
          }
        }
      }
    }

    private static String overrideStatKey(String domain, RateLimitDescriptor d) {
      StringBuilder sb = new StringBuilder(domain).append(".override");
      for (RateLimitDescriptor.Entry e : d.getEntriesList()) {
        sb.append('.').append(e.getKey());
      }
      return sb.toString();
    }

    @Override
    protected boolean denied() {
      over = overLimit();
      return over && !options.globalShadowMode();
    }

    /**
     * Whether the request is over its limits, as envoyproxy/ratelimit decides it: some descriptor
     * outside quota mode is denied (outside shadow mode), or every quota-mode descriptor is.
     */
    private boolean overLimit() {
      int quotaDescriptors = 0;
      int quotaDenied = 0;
      for (int i = 0; i < descriptorCount; i++) {
        int from = firstCall[i];
        if (from < 0) {
          continue;
        }
        int to = from + matches.limits(i).size();
        boolean denied = false;
        for (int c = from; c < to; c++) {
          denied |= deniedAt(c);
        }
        if (matches.limits(i).get(0).quotaMode()) {
          quotaDescriptors++;
          quotaDenied += denied ? 1 : 0;
        } else if (denied) {
          return true;
        }
      }
      return quotaDescriptors > 0 && quotaDenied == quotaDescriptors;
    }

    @Override
    protected RateLimitResponse answer() {
      RateLimitResponse.Builder response = RateLimitResponse.newBuilder();
      DescriptorStatus closest = null;
      for (int i = 0; i < descriptorCount; i++) {
        List<RateLimitRule> rules = matches.limits(i);
        if (rules.isEmpty()) {
          response.addStatuses(DescriptorStatus.newBuilder().setCode(Code.OK));
          continue;
        }
        if (rules.get(0).unlimited()) {
          response.addStatuses(DescriptorStatus.newBuilder().setCode(Code.OK)
              .setLimitRemaining((int) MAX_UINT32));
          continue;
        }
        int from = firstCall[i];
        int decisive = decisive(from, from + rules.size());
        boolean decisiveDenied = deniedAt(decisive);
        Decision d = decision(decisive);
        RateLimitRule rule = rules.get(decisive - from);
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
  }

  private static HeaderValue header(String key, String value) {
    return HeaderValue.newBuilder().setKey(key).setValue(value).build();
  }

  private static long ceilSeconds(long nanos) {
    return nanos <= 0 ? 0 : (nanos + 999_999_999L) / 1_000_000_000L;
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
