package io.tollgate.limiter.rlqs;

import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.BucketId;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse.BucketAction;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaServiceGrpc;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports.BucketQuotaUsage;
import io.envoyproxy.envoy.type.v3.RateLimitStrategy;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.GrantBucket;
import io.tollgate.limiter.algorithm.ShareTable;
import io.tollgate.limiter.grid.ShareGrid;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RlqsDomain;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.service.LimitKeys;
import io.tollgate.limiter.store.LimitStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Envoy's Rate Limit Quota Service ({@code StreamRateLimitQuotas}) over Tollgate's rules.
 *
 * <p>Each report's buckets are matched as descriptors of the report's domain
 * ({@link BucketMapping}). A bucket whose descriptor has a limit gets a token-bucket assignment
 * sized by its share of the limit ({@link ShareTable}, kept in the grid by {@link ShareGrid} so
 * that streams on every member divide one limit); its reported usage is taken from the same
 * counters, and recorded in the same per-rule metrics, as {@code ShouldRateLimit} calls. A bucket
 * matching nothing gets the configured blanket rule; one that matched before and no longer does
 * (its rule was removed by a reload) gets an {@code abandon_action}.
 *
 * <p>Reports of one stream are handled one after the other, and its responses are sent in order.
 * A bad report ends its stream only, with {@code INVALID_ARGUMENT}.
 */
public final class RlqsService extends RateLimitQuotaServiceGrpc.RateLimitQuotaServiceImplBase {

  private static final Logger LOG = Logger.getLogger(RlqsService.class.getName());

  private final Supplier<RuleSet> rules;
  private final LimitStore store;
  private final ShareGrid shares;
  private final LimiterMetrics metrics;
  private final RlqsOptions options;
  private final Set<Stream> streams = ConcurrentHashMap.newKeySet();

  public RlqsService(Supplier<RuleSet> rules, LimitStore store, ShareGrid shares,
      LimiterMetrics metrics, RlqsOptions options) {
    this.rules = rules;
    this.store = store;
    this.shares = shares;
    this.metrics = metrics;
    this.options = options;
  }

  @Override
  public StreamObserver<RateLimitQuotaUsageReports> streamRateLimitQuotas(
      StreamObserver<RateLimitQuotaResponse> responses) {
    Stream s = new Stream(responses);
    streams.add(s);
    if (responses instanceof ServerCallStreamObserver<RateLimitQuotaResponse> call) {
      call.setOnCancelHandler(s::cancelled);
    }
    return s;
  }

  /**
   * Tells every stream to abandon the buckets that no longer match a limit; called after a
   * reload.
   */
  public void rulesChanged() {
    for (Stream s : streams) {
      s.enqueue(() -> s.recheck(rules.get()));
    }
  }

  /** Ends every stream (the server is stopping): the proxies reconnect to another member. */
  public void close() {
    for (Stream s : streams) {
      s.finish();
    }
  }

  /** Open streams on this member. */
  public int openStreams() {
    return streams.size();
  }

  /**
   * What the service remembers of one bucket of a stream.
   *
   * @param computed the token bucket last computed for it, or {@code null}
   * @param sent the token bucket last sent for it (the computed one, or one Envoy can tell from
   *     the one before: {@link GrantBucket#distinct}), or {@code null}
   * @param sentUntil when that assignment expires, {@link System#nanoTime} scale
   */
  private record Tracked(List<String> shareKeys, boolean matched, GrantBucket computed,
      GrantBucket sent, long sentUntil) {
    Tracked(List<String> shareKeys, boolean matched) {
      this(shareKeys, matched, null, null, 0);
    }
  }

  /** One {@code StreamRateLimitQuotas} call. */
  private final class Stream implements StreamObserver<RateLimitQuotaUsageReports> {

    private final StreamObserver<RateLimitQuotaResponse> out;
    private final String id = UUID.randomUUID().toString();
    /** Touched only by the stream's serial tasks. */
    private final Map<Map<String, String>, Tracked> buckets = new HashMap<>();
    private String domain;
    private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
    private boolean closed;

    Stream(StreamObserver<RateLimitQuotaResponse> out) {
      this.out = out;
    }

    @Override
    public void onNext(RateLimitQuotaUsageReports reports) {
      long start = System.nanoTime();
      String problem;
      synchronized (this) {
        if (closed) {
          return;
        }
        problem = ReportValidator.problem(reports, domain);
        if (problem == null && domain == null) {
          domain = reports.getDomain();
        }
      }
      if (problem != null) {
        metrics.recordRequest(LimiterMetrics.Transport.RLQS,
            LimiterMetrics.Outcome.INVALID_ARGUMENT, System.nanoTime() - start);
        fail(Status.INVALID_ARGUMENT.withDescription(problem));
        return;
      }
      RuleSet ruleSet = rules.get();
      enqueue(() -> handle(reports, ruleSet).whenComplete((ok, e) ->
          metrics.recordRequest(LimiterMetrics.Transport.RLQS, e == null
              ? LimiterMetrics.Outcome.OK : LimiterMetrics.Outcome.INTERNAL,
              System.nanoTime() - start)));
    }

    /** Runs {@code task} after every task queued before it. */
    synchronized void enqueue(Supplier<CompletableFuture<?>> task) {
      if (closed) {
        return;
      }
      tail = tail.thenCompose(v -> {
        try {
          return task.get().handle((r, e) -> {
            if (e != null) {
              LOG.log(Level.WARNING, "RLQS stream " + id + ": " + e, e);
            }
            return null;
          });
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "RLQS stream " + id + ": " + e, e);
          return CompletableFuture.completedFuture(null);
        }
      }).thenApply(v -> (Void) null);
    }

    private CompletableFuture<Void> handle(RateLimitQuotaUsageReports reports, RuleSet ruleSet) {
      List<CompletableFuture<BucketAction>> actions = new ArrayList<>();
      for (BucketQuotaUsage usage : reports.getBucketQuotaUsagesList()) {
        actions.add(decide(usage, ruleSet));
      }
      return CompletableFuture.allOf(actions.toArray(CompletableFuture[]::new))
          .thenAccept(v -> {
            RateLimitQuotaResponse.Builder response = RateLimitQuotaResponse.newBuilder();
            for (CompletableFuture<BucketAction> a : actions) {
              BucketAction action = a.join();
              if (action != null) {
                response.addBucketAction(action);
              }
            }
            send(response);
          });
    }

    private CompletableFuture<BucketAction> decide(BucketQuotaUsage usage, RuleSet ruleSet) {
      BucketId bucketId = usage.getBucketId();
      Map<String, String> bucket = bucketId.getBucketMap();
      RlqsDomain settings = ruleSet.rlqs(domain);
      RateLimitDescriptor descriptor = BucketMapping.descriptor(bucket, settings.keyOrder());
      Match match = match(ruleSet, descriptor);
      Tracked previous = buckets.get(bucket);
      if (match.limits.isEmpty()) {
        if (previous != null && previous.matched()) {
          return CompletableFuture.completedFuture(abandon(bucketId, previous));
        }
        buckets.put(bucket, new Tracked(List.of(), false));
        boolean deny = settings.unmatched().isEmpty() ? options.unmatchedDenyAll()
            : settings.unmatched().equals("deny_all");
        return CompletableFuture.completedFuture(blanket(bucketId, deny, ttlNanos(usage)));
      }
      count(usage, descriptor, match);
      // Every enforced limit of the descriptor gets its own share; the assignment is one bucket
      // no larger and no faster than any of theirs, so it keeps within each limit.
      List<RateLimitRule> enforced = new ArrayList<>();
      for (RateLimitRule r : match.limits) {
        if (!r.unlimited() && !r.shadowMode()) {
          enforced.add(r);
        }
      }
      if (enforced.isEmpty()) {
        // Unlimited, or only shadow-mode limits: counted above, never enforced.
        releaseIfMoved(bucket, previous, List.of());
        buckets.put(bucket, new Tracked(List.of(), true));
        return CompletableFuture.completedFuture(blanket(bucketId, false, ttlNanos(usage)));
      }
      List<String> keys = new ArrayList<>(enforced.size());
      for (RateLimitRule r : enforced) {
        keys.add(LimitKeys.key(domain, descriptor, r, match.keyValues));
      }
      releaseIfMoved(bucket, previous, keys);
      // The last assignment sent on this stream stays known while the keys stay the same.
      Tracked kept = previous != null && previous.shareKeys().equals(keys) ? previous : null;
      buckets.put(bucket, kept != null ? kept : new Tracked(keys, true));
      long ttl = ttlNanos(usage);
      long minShare = settings.minShare() > 0 ? settings.minShare() : 1;
      // Per limit: the grant's bucket (null for a grant of 0), or not done (failed or deferred).
      List<CompletableFuture<GrantBucket>> grants = new ArrayList<>(enforced.size());
      boolean[] failed = new boolean[enforced.size()];
      boolean[] deferred = new boolean[enforced.size()];
      for (int i = 0; i < enforced.size(); i++) {
        RateLimitRule rule = enforced.get(i);
        long window = rule.unit().nanos();
        ShareTable.Params params = new ShareTable.Params(rule.requestsPerUnit(),
            Math.min(minShare, rule.requestsPerUnit()), ttl, options.headroomPercent(),
            options.tolerancePercent());
        CompletableFuture<GrantBucket> grant = new CompletableFuture<>();
        grants.add(grant);
        int at = i;
        try {
          shares.report(keys.get(i), holder(bucket), demandPerWindow(usage, window), params)
              .whenComplete((g, error) -> {
                if (error != null) {
                  metrics.storeError(false);
                  LOG.log(Level.FINE, "RLQS share report failed", error);
                  failed[at] = true;
                  grant.complete(null);
                } else if (g.length > 3 && g[3] != 0) {
                  deferred[at] = true;
                  grant.complete(null);
                } else {
                  grant.complete(GrantBucket.forGrant(g[0], window, options.burstPercent()));
                }
              });
        } catch (RuntimeException e) {
          metrics.storeError(false);
          failed[at] = true;
          grant.complete(null);
        }
      }
      return CompletableFuture.allOf(grants.toArray(CompletableFuture[]::new)).thenApply(v -> {
        int done = 0;
        boolean anyFailed = false;
        boolean anyDeferred = false;
        boolean denied = false;
        GrantBucket combined = null;
        for (int i = 0; i < grants.size(); i++) {
          if (failed[i]) {
            anyFailed = true;
          } else if (deferred[i]) {
            anyDeferred = true;
          } else {
            done++;
            GrantBucket b = grants.get(i).join();
            if (b == null) {
              denied = true;
            } else if (!denied) {
              combined = combined == null ? b : GrantBucket.tightest(combined, b);
            }
          }
        }
        if (denied) {
          // A grant of 0 in force: deny, whatever the other limits said.
          remember(bucket, keys, null, null, 0);
          return blanket(bucketId, true, ttl);
        }
        if (done == 0 || (anyDeferred && !anyFailed)) {
          // Every report failed (nothing was lowered), or a share is deferred (a reconnect held
          // down by its own ghost grant, ShareTable.Holder#deferred): no action, so the proxy
          // keeps its cached assignment until its TTL.
          return null;
        }
        Tracked last = buckets.get(bucket);
        if (anyFailed || anyDeferred) {
          // Some limits lowered this stream's grant, another's report failed: the cached
          // assignment may be above the lowered grants. Send the tightest of the new grants and
          // the last assignment sent here, for no longer than that one had left; with none
          // left, deny all for the least TTL.
          long now = System.nanoTime();
          if (last == null || last.sent() == null || last.sentUntil() - now <= 0) {
            remember(bucket, keys, null, null, 0);
            return blanket(bucketId, true, options.minTtlNanos());
          }
          long left = Math.min(ttl, last.sentUntil() - now);
          GrantBucket b = GrantBucket.distinct(GrantBucket.tightest(combined, last.sent()),
              last.sent());
          remember(bucket, keys, b, b, now + left);
          return assignment(bucketId, b, left);
        }
        GrantBucket b = combined;
        if (last != null && last.sent() != null) {
          // Resend the very bucket sent last when the computed one did not change.
          b = combined.equals(last.computed()) ? last.sent()
              : GrantBucket.distinct(combined, last.sent());
        }
        remember(bucket, keys, combined, b, System.nanoTime() + ttl);
        return assignment(bucketId, b, ttl);
      });
    }

    private void remember(Map<String, String> bucket, List<String> keys, GrantBucket computed,
        GrantBucket sent, long until) {
      Tracked t = buckets.get(bucket);
      if (t != null && t.shareKeys().equals(keys)) {
        buckets.put(bucket, new Tracked(keys, true, computed, sent, until));
      }
    }

    /** Abandons the buckets whose rule was removed. */
    CompletableFuture<Void> recheck(RuleSet ruleSet) {
      if (domain == null) {
        return CompletableFuture.completedFuture(null);
      }
      RateLimitQuotaResponse.Builder response = RateLimitQuotaResponse.newBuilder();
      RlqsDomain settings = ruleSet.rlqs(domain);
      for (Map.Entry<Map<String, String>, Tracked> e : new ArrayList<>(buckets.entrySet())) {
        if (!e.getValue().matched()) {
          continue;
        }
        RateLimitDescriptor d = BucketMapping.descriptor(e.getKey(), settings.keyOrder());
        if (match(ruleSet, d).limits.isEmpty()) {
          response.addBucketAction(abandon(BucketId.newBuilder().putAllBucket(e.getKey())
              .build(), e.getValue()));
        }
      }
      send(response);
      return CompletableFuture.completedFuture(null);
    }

    private BucketAction abandon(BucketId bucketId, Tracked previous) {
      Map<String, String> bucket = bucketId.getBucketMap();
      buckets.remove(bucket);
      for (String key : previous.shareKeys()) {
        shares.release(key, holder(bucket));
      }
      return BucketAction.newBuilder().setBucketId(bucketId)
          .setAbandonAction(BucketAction.AbandonAction.getDefaultInstance()).build();
    }

    private void releaseIfMoved(Map<String, String> bucket, Tracked previous, List<String> keys) {
      if (previous == null) {
        return;
      }
      for (String key : previous.shareKeys()) {
        if (!keys.contains(key)) {
          shares.release(key, holder(bucket));
        }
      }
    }

    private String holder(Map<String, String> bucket) {
      return id + "/" + BucketMapping.canonical(bucket);
    }

    /** Takes the reported usage from the limits' counters and records it in their metrics. */
    private void count(BucketQuotaUsage usage, RateLimitDescriptor descriptor, Match match) {
      long allowed = usage.getNumRequestsAllowed();
      long denied = usage.getNumRequestsDenied();
      for (RateLimitRule rule : match.limits) {
        if (rule.unlimited()) {
          continue;
        }
        String statKey = rule.detailedMetric() ? detailedStatKey(descriptor)
            : match.statKey != null ? match.statKey : rule.statKey();
        if (denied > 0) {
          metrics.ruleStats(statKey).record(denied, false, false, 0, 0);
        }
        if (allowed == 0) {
          continue;
        }
        String key = LimitKeys.key(domain, descriptor, rule, match.keyValues);
        try {
          store.acquire(key, rule.algorithm(), allowed).thenCompose(d -> {
            if (d.allowed() || d.remaining() <= 0) {
              return CompletableFuture.completedFuture(d);
            }
            // The proxies admitted more than the counter holds: take what is left.
            return store.acquire(key, rule.algorithm(), d.remaining());
          }).whenComplete((Decision d, Throwable error) -> {
            if (error != null) {
              metrics.storeError(false);
              return;
            }
            metrics.ruleStats(statKey).record(allowed, true, false, d.used(),
                (long) Math.floor(d.limit() * options.nearLimitRatio()));
          });
        } catch (RuntimeException e) {
          metrics.storeError(false);
        }
      }
    }

    private String detailedStatKey(RateLimitDescriptor descriptor) {
      StringBuilder sb = new StringBuilder(domain);
      for (RateLimitDescriptor.Entry e : descriptor.getEntriesList()) {
        sb.append('.').append(e.getKey()).append('_').append(e.getValue());
      }
      return sb.toString();
    }

    private Match match(RuleSet ruleSet, RateLimitDescriptor d) {
      DescriptorView view = new View(d);
      if (ruleSet.usesPathFeatures(domain)) {
        RuleSet.PathMatch m = ruleSet.matchPath(domain, view);
        return new Match(m.limits(), m.keyValues(), m.statKey());
      }
      return new Match(ruleSet.match(domain, view), null, null);
    }

    private synchronized void send(RateLimitQuotaResponse.Builder response) {
      if (closed || response.getBucketActionCount() == 0) {
        return;
      }
      try {
        out.onNext(response.build());
      } catch (RuntimeException e) {
        // The call was cancelled meanwhile.
        closed = true;
        streams.remove(this);
      }
    }

    private synchronized void fail(Status status) {
      if (closed) {
        return;
      }
      closed = true;
      streams.remove(this);
      try {
        out.onError(status.asRuntimeException());
      } catch (RuntimeException ignored) {
        // already cancelled
      }
    }

    synchronized void finish() {
      if (closed) {
        return;
      }
      closed = true;
      streams.remove(this);
      try {
        out.onCompleted();
      } catch (RuntimeException ignored) {
        // already cancelled
      }
    }

    synchronized void cancelled() {
      closed = true;
      streams.remove(this);
    }

    @Override
    public void onError(Throwable t) {
      cancelled();
    }

    @Override
    public void onCompleted() {
      // Grants stay in force at the proxy until their TTL; the shares expire with them.
      finish();
    }
  }

  private record Match(List<RateLimitRule> limits, String[] keyValues, String statKey) {}

  /** Three reporting intervals, at least the least TTL (so the least TTL for a report of 0 s). */
  private long ttlNanos(BucketQuotaUsage usage) {
    Duration t = usage.getTimeElapsed();
    long elapsed = t.getSeconds() * 1_000_000_000L + t.getNanos();
    return Math.min(RlqsOptions.MAX_TTL_NANOS, Math.max(options.minTtlNanos(), 3 * elapsed));
  }

  /**
   * The report's demand scaled to one window, or {@link ShareTable#NO_ESTIMATE} for a report of
   * 0 s (Envoy's whole seconds: a new bucket's first report): its usage is counted, but it says
   * nothing of a rate.
   */
  private static long demandPerWindow(BucketQuotaUsage usage, long windowNanos) {
    Duration t = usage.getTimeElapsed();
    double elapsed = t.getSeconds() * 1e9 + t.getNanos();
    if (elapsed <= 0) {
      return ShareTable.NO_ESTIMATE;
    }
    double demand = (double) (usage.getNumRequestsAllowed() + usage.getNumRequestsDenied())
        * windowNanos / elapsed;
    return (long) Math.min(Math.ceil(demand), 1e15);
  }

  private static double rate(RateLimitRule r) {
    return (double) r.requestsPerUnit() / r.unit().seconds();
  }

  private BucketAction blanket(BucketId id, boolean deny, long ttlNanos) {
    return BucketAction.newBuilder().setBucketId(id)
        .setQuotaAssignmentAction(BucketAction.QuotaAssignmentAction.newBuilder()
            .setAssignmentTimeToLive(duration(ttlNanos))
            .setRateLimitStrategy(RateLimitStrategy.newBuilder().setBlanketRule(deny
                ? RateLimitStrategy.BlanketRule.DENY_ALL
                : RateLimitStrategy.BlanketRule.ALLOW_ALL)))
        .build();
  }

  private BucketAction assignment(BucketId id, GrantBucket b, long ttlNanos) {
    return BucketAction.newBuilder().setBucketId(id)
        .setQuotaAssignmentAction(BucketAction.QuotaAssignmentAction.newBuilder()
            .setAssignmentTimeToLive(duration(ttlNanos))
            .setRateLimitStrategy(RateLimitStrategy.newBuilder().setTokenBucket(
                TokenBucket.newBuilder()
                    .setMaxTokens((int) b.maxTokens())
                    .setTokensPerFill(UInt32Value.of((int) b.tokensPerFill()))
                    .setFillInterval(duration(b.fillIntervalNanos())))))
        .build();
  }

  private static Duration duration(long nanos) {
    return Duration.newBuilder().setSeconds(nanos / 1_000_000_000L)
        .setNanos((int) (nanos % 1_000_000_000L)).build();
  }

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
