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
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.tollgate.limiter.decide.RuleMatches;
import io.tollgate.limiter.decide.UsageReport;
import io.tollgate.limiter.algorithm.GrantBucket;
import io.tollgate.limiter.algorithm.ShareTable;
import io.tollgate.limiter.grid.ShareGrid;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RlqsDomain;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.store.LimitStore;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
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
 *
 * <p>What a client can make this member remember is bounded ({@link RlqsOptions}): streams per
 * remote address ({@code max_streams_per_peer}; another is refused with {@code
 * RESOURCE_EXHAUSTED}), tracked buckets per stream ({@code max_buckets_per_stream}; a report that
 * would go over ends its stream with {@code RESOURCE_EXHAUSTED}, before anything of it is
 * counted), and only buckets that match a limit are tracked at all. A tracked bucket that is not
 * reported for {@code bucket_idle} and twice its assignment's time to live is forgotten and its
 * shares released, by the injected clock. Each refusal counts in a metric.
 */
public final class RlqsService extends RateLimitQuotaServiceGrpc.RateLimitQuotaServiceImplBase {

  private static final Logger LOG = Logger.getLogger(RlqsService.class.getName());

  private final Supplier<RuleSet> rules;
  private final LimitStore store;
  private final ShareGrid shares;
  private final LimiterMetrics metrics;
  private final RlqsOptions options;
  private final LongSupplier nanoClock;
  private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
  private final Map<String, AtomicInteger> streamsPerPeer = new ConcurrentHashMap<>();
  private final LongAdder streamsRefused = new LongAdder();
  private final LongAdder streamsOverBucketCap = new LongAdder();
  private final LongAdder bucketsExpired = new LongAdder();

  /** A service whose idle buckets expire by {@link System#nanoTime()}. */
  public RlqsService(Supplier<RuleSet> rules, LimitStore store, ShareGrid shares,
      LimiterMetrics metrics, RlqsOptions options) {
    this(rules, store, shares, metrics, options, System::nanoTime);
  }

  /**
   * A service whose idle buckets expire by {@code nanoClock} (any origin; only differences are
   * used).
   */
  public RlqsService(Supplier<RuleSet> rules, LimitStore store, ShareGrid shares,
      LimiterMetrics metrics, RlqsOptions options, LongSupplier nanoClock) {
    this.rules = rules;
    this.store = store;
    this.shares = shares;
    this.metrics = metrics;
    this.options = options;
    this.nanoClock = nanoClock;
    metrics.functionCounter("ratelimit.rlqs.streams_refused",
        "RLQS streams refused: their remote address had max_streams_per_peer open",
        o -> streamsRefused.sum(), this);
    metrics.functionCounter("ratelimit.rlqs.streams_over_bucket_cap",
        "RLQS streams ended: a report would have tracked more than max_buckets_per_stream",
        o -> streamsOverBucketCap.sum(), this);
    metrics.functionCounter("ratelimit.rlqs.buckets_expired",
        "RLQS buckets forgotten after going unreported for bucket_idle",
        o -> bucketsExpired.sum(), this);
    metrics.gauge("ratelimit.rlqs.tracked_buckets", "RLQS buckets tracked on this member",
        this::trackedBuckets);
  }

  /**
   * The service to add to a server: this one, with each call told its remote address ({@link
   * #PEER}), which bounds the streams per peer. Added without it, every stream counts as one peer
   * ({@code unknown}).
   */
  public ServerServiceDefinition service() {
    return ServerInterceptors.intercept(this, new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call,
          Metadata headers, ServerCallHandler<Q, R> next) {
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        String peer = remote instanceof InetSocketAddress inet && inet.getAddress() != null
            ? inet.getAddress().getHostAddress() : String.valueOf(remote);
        return Contexts.interceptCall(Context.current().withValue(PEER, peer), call, headers,
            next);
      }
    });
  }

  private static final Context.Key<String> PEER = Context.key("tollgate-rlqs-peer");

  @Override
  public StreamObserver<RateLimitQuotaUsageReports> streamRateLimitQuotas(
      StreamObserver<RateLimitQuotaResponse> responses) {
    String peer = PEER.get() == null ? "unknown" : PEER.get();
    AtomicInteger open = streamsPerPeer.computeIfAbsent(peer, p -> new AtomicInteger());
    if (open.incrementAndGet() > options.maxStreamsPerPeer()) {
      releasePeer(peer, open);
      streamsRefused.increment();
      LOG.fine(() -> "RLQS stream from " + peer + " refused: max_streams_per_peer");
      responses.onError(Status.RESOURCE_EXHAUSTED.withDescription(peer + " has "
          + options.maxStreamsPerPeer() + " RLQS streams open on this member, the most one"
          + " remote address may (max_streams_per_peer)").asRuntimeException());
      return new StreamObserver<>() {
        @Override
        public void onNext(RateLimitQuotaUsageReports value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
    Stream s = new Stream(responses, peer, open);
    streams.add(s);
    if (responses instanceof ServerCallStreamObserver<RateLimitQuotaResponse> call) {
      call.setOnCancelHandler(s::cancelled);
    }
    return s;
  }

  private void releasePeer(String peer, AtomicInteger open) {
    if (open.decrementAndGet() <= 0) {
      streamsPerPeer.remove(peer, open);
    }
  }

  /** Buckets tracked by every open stream (as last counted by each stream). */
  public int trackedBuckets() {
    int n = 0;
    for (Stream s : streams) {
      n += s.trackedCount;
    }
    return n;
  }

  /** Open streams from {@code peer} (a remote address, e.g. {@code 127.0.0.1}). */
  public int openStreams(String peer) {
    AtomicInteger n = streamsPerPeer.get(peer);
    return n == null ? 0 : Math.max(0, n.get());
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
   * What the service remembers of one bucket of a stream that matched a limit.
   *
   * @param shareKeys the limit keys it holds a share of (none for unlimited or shadow limits)
   * @param computed the token bucket last computed for it, or {@code null}
   * @param sent the token bucket last sent for it (the computed one, or one Envoy can tell from
   *     the one before: {@link GrantBucket#distinct}), or {@code null}
   * @param sentUntil when that assignment expires, {@link System#nanoTime} scale
   * @param seenNanos when it was last reported, by the service's injected clock
   * @param ttlNanos the time to live of its last report's assignment
   */
  private record Tracked(List<String> shareKeys, GrantBucket computed, GrantBucket sent,
      long sentUntil, long seenNanos, long ttlNanos) {
    Tracked(List<String> shareKeys, long seenNanos, long ttlNanos) {
      this(shareKeys, null, null, 0, seenNanos, ttlNanos);
    }

    Tracked seen(long nanos, long ttl) {
      return new Tracked(shareKeys, computed, sent, sentUntil, nanos, ttl);
    }
  }

  /** One {@code StreamRateLimitQuotas} call. */
  private final class Stream implements StreamObserver<RateLimitQuotaUsageReports> {

    private final StreamObserver<RateLimitQuotaResponse> out;
    private final String id = UUID.randomUUID().toString();
    private final String peer;
    private final AtomicInteger peerStreams;
    /** Touched only by the stream's serial tasks. */
    private final Map<Map<String, String>, Tracked> buckets = new HashMap<>();
    /** The size of {@link #buckets} after the last task, for the gauge. */
    private volatile int trackedCount;
    private String domain;
    private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
    private boolean closed;

    Stream(StreamObserver<RateLimitQuotaResponse> out, String peer, AtomicInteger peerStreams) {
      this.out = out;
      this.peer = peer;
      this.peerStreams = peerStreams;
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
      long now = nanoClock.getAsLong();
      expireIdle(now);
      RlqsDomain settings = ruleSet.rlqs(domain);
      List<BucketQuotaUsage> usages = reports.getBucketQuotaUsagesList();
      List<RateLimitDescriptor> descriptors = new ArrayList<>(usages.size());
      List<RuleMatches> matches = new ArrayList<>(usages.size());
      int fresh = 0;
      for (int i = 0; i < usages.size(); i++) {
        Map<String, String> bucket = usages.get(i).getBucketId().getBucketMap();
        RateLimitDescriptor descriptor = BucketMapping.descriptor(bucket, settings.keyOrder());
        RuleMatches match = match(ruleSet, descriptor);
        descriptors.add(descriptor);
        matches.add(match);
        if (!match.limits(0).isEmpty() && !buckets.containsKey(bucket)) {
          fresh++;
          if (buckets.size() + fresh > options.maxBucketsPerStream()) {
            streamsOverBucketCap.increment();
            fail(Status.RESOURCE_EXHAUSTED.withDescription("bucket_quota_usages[" + i
                + "].bucket_id: this stream would track more than "
                + options.maxBucketsPerStream() + " buckets, the most one stream may"
                + " (max_buckets_per_stream); nothing of this report was counted"));
            return CompletableFuture.completedFuture(null);
          }
        }
      }
      List<CompletableFuture<BucketAction>> actions = new ArrayList<>();
      for (int i = 0; i < usages.size(); i++) {
        actions.add(decide(usages.get(i), descriptors.get(i), matches.get(i), settings, now));
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

    /**
     * Forgets the buckets not reported for {@code bucket_idle} and twice their assignment's time
     * to live, and releases their shares.
     */
    private void expireIdle(long now) {
      for (var it = buckets.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<Map<String, String>, Tracked> e = it.next();
        Tracked t = e.getValue();
        long idle = Math.max(options.bucketIdleNanos(), 2 * t.ttlNanos());
        if (now - t.seenNanos() > idle) {
          it.remove();
          bucketsExpired.increment();
          for (String key : t.shareKeys()) {
            shares.release(key, holder(e.getKey()));
          }
        }
      }
      trackedCount = buckets.size();
    }

    private CompletableFuture<BucketAction> decide(BucketQuotaUsage usage,
        RateLimitDescriptor descriptor, RuleMatches match, RlqsDomain settings, long now) {
      BucketId bucketId = usage.getBucketId();
      Map<String, String> bucket = bucketId.getBucketMap();
      Tracked previous = buckets.get(bucket);
      if (match.limits(0).isEmpty()) {
        // Unmatched buckets are not tracked: they hold no share, and a client could make up any
        // number of them.
        if (previous != null) {
          return CompletableFuture.completedFuture(abandon(bucketId, previous));
        }
        boolean deny = settings.unmatched().isEmpty() ? options.unmatchedDenyAll()
            : settings.unmatched().equals("deny_all");
        return CompletableFuture.completedFuture(blanket(bucketId, deny, ttlNanos(usage)));
      }
      count(usage, match);
      // Every enforced limit of the descriptor gets its own share; the assignment is one bucket
      // no larger and no faster than any of theirs, so it keeps within each limit.
      List<RateLimitRule> enforced = new ArrayList<>();
      for (RateLimitRule r : match.limits(0)) {
        if (!r.unlimited() && !r.shadowMode()) {
          enforced.add(r);
        }
      }
      if (enforced.isEmpty()) {
        // Unlimited, or only shadow-mode limits: counted above, never enforced.
        releaseIfMoved(bucket, previous, List.of());
        buckets.put(bucket, new Tracked(List.of(), now, ttlNanos(usage)));
        trackedCount = buckets.size();
        return CompletableFuture.completedFuture(blanket(bucketId, false, ttlNanos(usage)));
      }
      List<String> keys = new ArrayList<>(enforced.size());
      for (RateLimitRule r : enforced) {
        keys.add(match.key(0, r));
      }
      releaseIfMoved(bucket, previous, keys);
      // The last assignment sent on this stream stays known while the keys stay the same.
      Tracked kept = previous != null && previous.shareKeys().equals(keys) ? previous : null;
      long ttl = ttlNanos(usage);
      buckets.put(bucket, kept != null ? kept.seen(now, ttl) : new Tracked(keys, now, ttl));
      trackedCount = buckets.size();
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
          long sentAt = System.nanoTime();
          if (last == null || last.sent() == null || last.sentUntil() - sentAt <= 0) {
            remember(bucket, keys, null, null, 0);
            return blanket(bucketId, true, options.minTtlNanos());
          }
          long left = Math.min(ttl, last.sentUntil() - sentAt);
          GrantBucket b = GrantBucket.distinct(GrantBucket.tightest(combined, last.sent()),
              last.sent());
          remember(bucket, keys, b, b, sentAt + left);
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
        buckets.put(bucket, new Tracked(keys, computed, sent, until, t.seenNanos(),
            t.ttlNanos()));
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
        RateLimitDescriptor d = BucketMapping.descriptor(e.getKey(), settings.keyOrder());
        if (match(ruleSet, d).limits(0).isEmpty()) {
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
      trackedCount = buckets.size();
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
    private void count(BucketQuotaUsage usage, RuleMatches match) {
      UsageReport.report(match, store, metrics, options.nearLimitRatio(),
          usage.getNumRequestsAllowed(), usage.getNumRequestsDenied());
    }

    private RuleMatches match(RuleSet ruleSet, RateLimitDescriptor d) {
      RuleMatches m = new RuleMatches(domain, 1);
      m.match(0, ruleSet, new View(d));
      return m;
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
        releasePeer(peer, peerStreams);
      }
    }

    private synchronized void fail(Status status) {
      if (closed) {
        return;
      }
      closed = true;
      streams.remove(this);
      releasePeer(peer, peerStreams);
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
      releasePeer(peer, peerStreams);
      try {
        out.onCompleted();
      } catch (RuntimeException ignored) {
        // already cancelled
      }
    }

    synchronized void cancelled() {
      if (closed) {
        return;
      }
      closed = true;
      streams.remove(this);
      releasePeer(peer, peerStreams);
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
