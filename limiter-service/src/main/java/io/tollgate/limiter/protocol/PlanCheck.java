package io.tollgate.limiter.protocol;

import com.google.protobuf.Duration;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse.Reason;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.LimitStatus;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.TokenBucket;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.decide.LimitKeys;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiKeys;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.PlanConfig;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.StageSettings;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import io.tollgate.limiter.service.Catalog;
import io.tollgate.limiter.service.InvalidRequestException;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.StoreUnavailableException;
import io.tollgate.limiter.tracing.DecisionTracing;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The usage-plan check: every level that applies to a request (account, stage, method, plan,
 * plan method, quota) is acquired in parallel, each on its own key's owner; if any denies, the
 * units the others granted are handed back before the answer, so a denied or forbidden check
 * consumes nothing anywhere.
 *
 * <p>Levels, each one counter ({@link LimitKeys} gives their keys): account (all checks), stage
 * (all callers of the stage), method (all callers of the method), plan (each key in its plan),
 * plan method (each key, per method, in its plan) and quota (each key in its plan, in the quota
 * map). The acquiring, the hand-back and the failure handling are the decision core's
 * ({@link io.tollgate.limiter.decide.Evaluation}); this class picks the levels and builds the
 * {@code CheckResponse}.
 *
 * <p>Like every parallel all-or-nothing scheme, a concurrent check can see units that another
 * check holds for the one grid round trip before it hands them back: limits are never exceeded,
 * and under contention at a limit's edge a check may be denied that a serial order would admit.
 */
public final class PlanCheck {

  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(PlanCheck.class.getName());

  /** The most a single check may cost. */
  static final long MAX_COST = 1_000_000;

  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  /** Span attributes: the API stage and the outcome, never the key or its id. */
  private static final AttributeKey<String> API = AttributeKey.stringKey("tollgate.api");
  private static final AttributeKey<String> STAGE = AttributeKey.stringKey("tollgate.stage");
  private static final AttributeKey<String> REASON = AttributeKey.stringKey("tollgate.reason");

  private final Catalog catalog;
  private final LimitStore throttles;
  private final LimitStore quotas;
  private final WallClock clock;
  private final LimiterMetrics metrics;
  private final DecisionTracing tracing = DecisionTracing.fromGlobal();
  private final ConcurrentHashMap<Throttle, TokenBucket> buckets = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Quota, CalendarQuota> calendars = new ConcurrentHashMap<>();

  /**
   * @param throttles the store of token buckets (the counters map)
   * @param quotas the store of quota counters
   * @param clock for the quota period reported in answers only; decisions use the store's clock
   */
  public PlanCheck(Catalog catalog, LimitStore throttles, LimitStore quotas, WallClock clock,
      LimiterMetrics metrics) {
    this.metrics = metrics;
    this.catalog = catalog;
    this.throttles = throttles;
    this.quotas = quotas;
    this.clock = clock;
  }

  /** Decides a check; fails with {@link InvalidRequestException} or {@link StoreUnavailableException}. */
  public CompletableFuture<CheckResponse> check(CheckRequest request) {
    long start = System.nanoTime();
    Span span = tracing.start("tollgate.check");
    CompletableFuture<CheckResponse> answer = decide(request);
    DecisionTracing.endWith(span, answer, (s, r) -> s
        .setAttribute(API, request.getApi())
        .setAttribute(STAGE, request.getStage())
        .setAttribute(REASON, r.getReason().name()));
    return answer.whenComplete((r, failure) -> {
      String result;
      if (failure != null) {
        Throwable t = failure instanceof java.util.concurrent.CompletionException
            && failure.getCause() != null ? failure.getCause() : failure;
        result = t instanceof InvalidRequestException ? "invalid_argument"
            : t instanceof StoreUnavailableException ? "unavailable" : "internal";
      } else {
        result = r.getReason().name().toLowerCase(java.util.Locale.ROOT);
      }
      metrics.recordCheck(result, System.nanoTime() - start);
    });
  }

  private CompletableFuture<CheckResponse> decide(CheckRequest request) {
    try {
      validate(request);
    } catch (InvalidRequestException e) {
      return CompletableFuture.failedFuture(e);
    }
    String apiKey = request.getApiKey();
    if (apiKey.isEmpty()) {
      if (request.getKeyRequired()) {
        return CompletableFuture.completedFuture(forbidden("API key missing"));
      }
      return new Evaluation(request, null, null).run();
    }
    return catalog.key(ApiKeys.hash(apiKey)).handle((found, error) -> {
      if (error != null) {
        LOG.log(java.util.logging.Level.WARNING, "cannot read an API key", error);
        return CompletableFuture.<CheckResponse>failedFuture(new StoreUnavailableException(
            "cannot read the API key (see the limiter's log)", error));
      }
      return withKey(request, found);
    }).thenCompose(f -> f);
  }

  private CompletableFuture<CheckResponse> withKey(CheckRequest request, Optional<ApiKey> found) {
    if (found.isEmpty()) {
      return CompletableFuture.completedFuture(forbidden("unknown API key"));
    }
    ApiKey key = found.get();
    if (!key.enabled()) {
      return CompletableFuture.completedFuture(forbidden("API key is disabled"));
    }
    for (String planId : key.planIds()) {
      UsagePlan plan = catalog.plan(planId);
      if (plan != null && plan.stage(request.getApi(), request.getStage()) != null) {
        return new Evaluation(request, key, plan).run();
      }
    }
    return CompletableFuture.completedFuture(forbidden("API key is not in a usage plan for stage "
        + ApiStage.stageId(request.getApi(), request.getStage())));
  }

  private static CheckResponse forbidden(String why) {
    return CheckResponse.newBuilder().setAllowed(false).setReason(Reason.FORBIDDEN)
        .setMessage(why).build();
  }

  static void validate(CheckRequest r) {
    name("api", r.getApi());
    name("stage", r.getStage());
    String method = r.getMethod();
    if (method.isEmpty() || method.length() > 16 || !method.chars().allMatch(
        c -> (c >= 'A' && c <= 'Z') || c == '-' || c == '_')) {
      throw new InvalidRequestException("method: '" + clip(method)
          + "' is not an HTTP method (upper-case letters, 1 to 16)");
    }
    String route = r.getRoute();
    if (!route.startsWith("/") || route.length() > 1024) {
      throw new InvalidRequestException("route: '" + clip(route)
          + "' must start with '/' and have at most 1024 characters");
    }
    if (r.getApiKey().length() > ApiKeys.MAX_LENGTH) {
      throw new InvalidRequestException("api_key: longer than " + ApiKeys.MAX_LENGTH
          + " characters");
    }
    if (Integer.toUnsignedLong(r.getCost()) > MAX_COST) {
      throw new InvalidRequestException("cost: " + Integer.toUnsignedString(r.getCost())
          + " is above the maximum of " + MAX_COST);
    }
  }

  private static void name(String field, String value) {
    if (value.isEmpty()) {
      throw new InvalidRequestException(field + ": required");
    }
    if (value.length() > 128 || value.indexOf('/') >= 0 || value.chars()
        .anyMatch(c -> c <= ' ')) {
      throw new InvalidRequestException(field + ": '" + clip(value)
          + "' must have 1 to 128 characters, no '/' and no whitespace");
    }
  }

  private static String clip(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }

  /** The token bucket of a throttle: rate per second, or per 1000 s for fractional rates. */
  TokenBucket bucket(Throttle t) {
    return buckets.computeIfAbsent(t, x -> {
      double rate = x.rate();
      if (rate == Math.rint(rate)) {
        return new TokenBucket((long) rate, SECOND, x.burst());
      }
      return new TokenBucket(Math.round(rate * 1000), 1000 * SECOND, x.burst());
    });
  }

  CalendarQuota calendar(Quota q) {
    return calendars.computeIfAbsent(q,
        x -> new CalendarQuota(x.limit(), x.period(), x.offset(), x.zone()));
  }

  private static final CalendarQuota UNLIMITED = CalendarQuota.unlimited();

  /** The quota counter of a plan without a quota: counts usage, never denies. */
  static CalendarQuota unlimited() {
    return UNLIMITED;
  }

  /** One check in flight: the plan levels over the decision core. */
  private final class Evaluation extends io.tollgate.limiter.decide.Evaluation<CheckResponse> {
    private final CheckRequest request;
    private final ApiKey key;
    private final UsagePlan plan;
    private final long cost;
    /** Per call: the level's name, and its throttle ({@code null} for the quota). */
    private final String[] levelNames = new String[6];
    private final Throttle[] throttles = new Throttle[6];
    /** Calls of throttle levels: {@code [0, throttleCalls)}; the quota, if any, follows. */
    private int throttleCalls;
    private boolean denied;

    Evaluation(CheckRequest request, ApiKey key, UsagePlan plan) {
      super(metrics, 1);
      this.request = request;
      this.key = key;
      this.plan = plan;
      this.cost = request.getCost() == 0 ? 1 : Integer.toUnsignedLong(request.getCost());
    }

    private void level(String name, String key, Throttle throttle) {
      int c = call(PlanCheck.this.throttles, key, bucket(throttle), cost, null, false);
      levelNames[c] = name;
      throttles[c] = throttle;
      throttleCalls = c + 1;
    }

    private void collect() {
      calls(6);
      PlanConfig config = catalog.config();
      String api = request.getApi();
      String stage = request.getStage();
      String methodKey = ApiStage.methodKey(request.getMethod(), request.getRoute());
      level("account", LimitKeys.ACCOUNT, config.accountThrottle());
      StageSettings settings = config.stages().get(ApiStage.stageId(api, stage));
      if (settings != null) {
        if (settings.throttle() != null) {
          level("stage", LimitKeys.stage(api, stage), settings.throttle());
        }
        Throttle m = methodThrottle(settings.methods(), request);
        if (m != null) {
          level("method", LimitKeys.method(api, stage, methodKey), m);
        }
      }
      if (plan != null) {
        if (plan.throttle() != null) {
          level("plan", LimitKeys.plan(plan.id(), key.id()), plan.throttle());
        }
        Throttle pm = methodThrottle(plan.stage(api, stage).methods(), request);
        if (pm != null) {
          level("plan_method", LimitKeys.planMethod(plan.id(), key.id(), api, stage, methodKey),
              pm);
        }
        CalendarQuota quota = plan.quota() == null ? UNLIMITED : calendar(plan.quota());
        int c = call(quotas, LimitKeys.quota(plan.id(), key.id()), quota, cost, null, false);
        levelNames[c] = "quota";
      }
    }

    CompletableFuture<CheckResponse> run() {
      collect();
      return start();
    }

    @Override
    protected boolean denied() {
      for (int c = 0, n = callCount(); c < n; c++) {
        denied |= !decision(c).allowed();
      }
      return denied;
    }

    @Override
    protected CheckResponse answer() {
      CheckResponse.Builder b = CheckResponse.newBuilder().setAllowed(!denied);
      Reason reason = Reason.ALLOWED;
      long retry = 0;
      for (int c = 0, n = callCount(); c < n; c++) {
        Decision d = decision(c);
        if (!d.allowed()) {
          reason = c < throttleCalls ? Reason.THROTTLED
              : reason == Reason.THROTTLED ? reason : Reason.QUOTA_EXCEEDED;
          retry = Math.max(retry, d.resetAfterNanos());
        }
      }
      if (throttleCalls < callCount() && plan.quota() != null) {
        int q = throttleCalls;
        Decision d = decision(q);
        // A refunded quota decision still reports what was left before this check.
        long remaining = denied && d.allowed() ? d.remaining() + d.permits() : d.remaining();
        CalendarQuota quota = calendar(plan.quota());
        long now = clock.epochNanos();
        b.setQuota(LimitStatus.newBuilder().setLevel("quota").setLimit(d.limit())
            .setRemaining(remaining).setResetAfter(duration(d.resetAfterNanos()))
            .setWindow(duration(TimeUnit.SECONDS.toNanos(
                quota.periodEnd(now) - quota.periodStart(now)))));
      }
      int tightest = decisive(0, throttleCalls);
      if (tightest >= 0) {
        Decision d = decision(tightest);
        boolean handedBack = denied && d.allowed();
        long remaining = handedBack ? d.remaining() + d.permits() : d.remaining();
        // Handed back to a full bucket: it is full now, whatever the decision said.
        long reset = handedBack && remaining >= d.limit() ? 0 : d.resetAfterNanos();
        b.setThrottle(LimitStatus.newBuilder().setLevel(levelNames[tightest]).setLimit(d.limit())
            .setRemaining(remaining).setResetAfter(duration(reset))
            .setRate(throttles[tightest].rate()).setWindow(duration(SECOND)));
      }
      b.setReason(reason);
      if (denied) {
        b.setRetryAfter(duration(retry));
        b.setMessage(reason == Reason.THROTTLED ? "throttled at the "
            + levelNames[tightest] + " level" : "quota exceeded");
      }
      if (key != null) {
        b.setKeyId(key.id()).setPlanId(plan.id());
      }
      return b.build();
    }
  }

  private static Throttle methodThrottle(java.util.Map<String, Throttle> methods,
      CheckRequest r) {
    if (methods.isEmpty()) {
      return null;
    }
    Throttle t = methods.get(ApiStage.methodKey(r.getMethod(), r.getRoute()));
    return t != null ? t : methods.get(ApiStage.methodKey("*", r.getRoute()));
  }

  /** The quota counter key of a plan and key: {@code planId/keyId} ({@link LimitKeys#quota}). */
  public static String quotaKey(String planId, String keyId) {
    return LimitKeys.quota(planId, keyId);
  }

  static Duration duration(long nanos) {
    long n = Math.max(0, nanos);
    return Duration.newBuilder().setSeconds(n / SECOND).setNanos((int) (n % SECOND)).build();
  }
}
