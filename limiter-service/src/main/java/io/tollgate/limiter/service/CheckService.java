package io.tollgate.limiter.service;

import com.google.protobuf.Duration;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse.Reason;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.LimitStatus;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.TokenBucket;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiKeys;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.PlanConfig;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.StageSettings;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.StoreUnavailableException;
import io.tollgate.limiter.tracing.DecisionTracing;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The usage-plan check: every level that applies to a request (account, stage, method, plan,
 * plan method, quota) is acquired in parallel, each on its own key's owner; if any denies, the
 * units the others granted are handed back before the answer, so a denied or forbidden check
 * consumes nothing anywhere.
 *
 * <p>Levels and their counter keys (each starts with '@', which no Envoy rule key can):
 * <pre>
 *   account      @a                                   all checks
 *   stage        @s|api|stage                         all callers of the stage
 *   method       @m|api|stage|METHOD /route           all callers of the method
 *   plan         @p|plan|key                          each key in its plan
 *   plan method  @q|plan|key|api|stage|METHOD /route  each key, per method, in its plan
 *   quota        plan/key (in the quota map)          each key in its plan
 * </pre>
 * Names are length-prefixed, so no choice of names makes two levels share a counter.
 *
 * <p>Like every parallel all-or-nothing scheme, a concurrent check can see units that another
 * check holds for the one grid round trip before it hands them back: limits are never exceeded,
 * and under contention at a limit's edge a check may be denied that a serial order would admit.
 */
public final class CheckService {

  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(CheckService.class.getName());

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
  public CheckService(Catalog catalog, LimitStore throttles, LimitStore quotas, WallClock clock,
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
      return new Evaluation(request, null, null).start();
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
        return new Evaluation(request, key, plan).start();
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

  private static void append(StringBuilder sb, String s) {
    sb.append('|').append(s.length()).append(':').append(s);
  }

  private static String key(String prefix, String... parts) {
    StringBuilder sb = new StringBuilder(64).append(prefix);
    for (String p : parts) {
      append(sb, p);
    }
    return sb.toString();
  }

  /** One level to acquire. */
  private record Level(String name, String key, LimitAlgorithm algorithm, LimitStore store,
      Throttle throttle) {}

  private final class Evaluation {
    private final CheckRequest request;
    private final ApiKey key;
    private final UsagePlan plan;
    private final long cost;
    private final List<Level> levels = new ArrayList<>(6);
    private Decision[] results;
    private volatile Throwable failure;
    private AtomicInteger pending;
    private final CompletableFuture<CheckResponse> answer = new CompletableFuture<>();

    Evaluation(CheckRequest request, ApiKey key, UsagePlan plan) {
      this.request = request;
      this.key = key;
      this.plan = plan;
      this.cost = request.getCost() == 0 ? 1 : Integer.toUnsignedLong(request.getCost());
    }

    private void collect() {
      PlanConfig config = catalog.config();
      String api = request.getApi();
      String stage = request.getStage();
      String methodKey = ApiStage.methodKey(request.getMethod(), request.getRoute());
      Throttle account = config.accountThrottle();
      levels.add(new Level("account", "@a", bucket(account), throttles, account));
      StageSettings settings = config.stages().get(ApiStage.stageId(api, stage));
      if (settings != null) {
        if (settings.throttle() != null) {
          levels.add(new Level("stage", key("@s", api, stage), bucket(settings.throttle()),
              throttles, settings.throttle()));
        }
        Throttle m = methodThrottle(settings.methods(), request);
        if (m != null) {
          levels.add(new Level("method", key("@m", api, stage, methodKey), bucket(m), throttles,
              m));
        }
      }
      if (plan != null) {
        if (plan.throttle() != null) {
          levels.add(new Level("plan", key("@p", plan.id(), key.id()), bucket(plan.throttle()),
              throttles, plan.throttle()));
        }
        Throttle pm = methodThrottle(plan.stage(api, stage).methods(), request);
        if (pm != null) {
          levels.add(new Level("plan_method", key("@q", plan.id(), key.id(), api, stage,
              methodKey), bucket(pm), throttles, pm));
        }
        CalendarQuota quota = plan.quota() == null ? UNLIMITED : calendar(plan.quota());
        levels.add(new Level("quota", quotaKey(plan.id(), key.id()), quota, quotas, null));
      }
    }

    CompletableFuture<CheckResponse> start() {
      collect();
      int n = levels.size();
      results = new Decision[n];
      pending = new AtomicInteger(n);
      for (int i = 0; i < n; i++) {
        final int call = i;
        Level l = levels.get(i);
        try {
          l.store().acquire(l.key(), l.algorithm(), cost)
              .whenComplete((d, e) -> onResult(call, d, e));
        } catch (RuntimeException e) {
          onResult(call, null, e);
        }
      }
      return answer;
    }

    private void onResult(int call, Decision decision, Throwable error) {
      if (error != null) {
        failure = error;
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
        boolean denied = false;
        if (f == null) {
          for (Decision d : results) {
            denied |= !d.allowed();
          }
        }
        if (f == null && !denied) {
          answer.complete(respond(false));
          return;
        }
        List<CompletableFuture<Boolean>> refunds = new ArrayList<>();
        for (int i = 0; i < results.length; i++) {
          Decision d = results[i];
          if (d != null && d.allowed() && d.permits() > 0) {
            Level l = levels.get(i);
            try {
              refunds.add(l.store().refund(l.key(), l.algorithm(), d).toCompletableFuture());
            } catch (RuntimeException e) {
              refunds.add(CompletableFuture.failedFuture(e));
            }
          }
        }
        CompletableFuture.allOf(refunds.toArray(CompletableFuture[]::new))
            .whenComplete((ignored, error) -> {
              if (f != null) {
                answer.completeExceptionally(new StoreUnavailableException(
                    "the limit store did not answer: " + f.getMessage(), f));
              } else {
                answer.complete(respond(true));
              }
            });
      } catch (Throwable e) {
        answer.completeExceptionally(e);
      }
    }

    private CheckResponse respond(boolean denied) {
      CheckResponse.Builder b = CheckResponse.newBuilder().setAllowed(!denied);
      Reason reason = Reason.ALLOWED;
      long retry = 0;
      int tightest = -1;
      for (int i = 0; i < results.length; i++) {
        Level l = levels.get(i);
        Decision d = results[i];
        if (l.throttle() != null) {
          boolean pick = tightest < 0
              || (!d.allowed() && results[tightest].allowed())
              || (d.allowed() == results[tightest].allowed()
                  && d.remaining() < results[tightest].remaining());
          if (pick) {
            tightest = i;
          }
          if (!d.allowed()) {
            reason = Reason.THROTTLED;
            retry = Math.max(retry, d.resetAfterNanos());
          }
        } else {
          if (!d.allowed() && reason != Reason.THROTTLED) {
            reason = Reason.QUOTA_EXCEEDED;
          }
          if (!d.allowed()) {
            retry = Math.max(retry, d.resetAfterNanos());
          }
          if (plan.quota() != null) {
            // A refunded quota decision still reports what was left before this check.
            long remaining = denied && d.allowed() ? d.remaining() + d.permits() : d.remaining();
            CalendarQuota q = (CalendarQuota) l.algorithm();
            long now = clock.epochNanos();
            b.setQuota(LimitStatus.newBuilder().setLevel("quota").setLimit(d.limit())
                .setRemaining(remaining).setResetAfter(duration(d.resetAfterNanos()))
                .setWindow(duration(TimeUnit.SECONDS.toNanos(q.periodEnd(now) - q.periodStart(now)))));
          }
        }
      }
      if (tightest >= 0) {
        Level l = levels.get(tightest);
        Decision d = results[tightest];
        boolean handedBack = denied && d.allowed();
        long remaining = handedBack ? d.remaining() + d.permits() : d.remaining();
        // Handed back to a full bucket: it is full now, whatever the decision said.
        long reset = handedBack && remaining >= d.limit() ? 0 : d.resetAfterNanos();
        b.setThrottle(LimitStatus.newBuilder().setLevel(l.name()).setLimit(d.limit())
            .setRemaining(remaining).setResetAfter(duration(reset))
            .setRate(l.throttle().rate()).setWindow(duration(SECOND)));
      }
      b.setReason(reason);
      if (denied) {
        b.setRetryAfter(duration(retry));
        b.setMessage(reason == Reason.THROTTLED ? "throttled at the "
            + levels.get(tightest).name() + " level" : "quota exceeded");
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

  /** The quota counter key of a plan and key: {@code planId/keyId}. */
  public static String quotaKey(String planId, String keyId) {
    return planId + "/" + keyId;
  }

  static Duration duration(long nanos) {
    long n = Math.max(0, nanos);
    return Duration.newBuilder().setSeconds(n / SECOND).setNanos((int) (n % SECOND)).build();
  }
}
