package io.tollgate.limiter.testing;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.BucketId;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse.BucketAction;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaServiceGrpc;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports;
import io.envoyproxy.envoy.type.v3.RateLimitStrategy;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.tollgate.limiter.algorithm.WallClock;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A simulated Envoy with the {@code rate_limit_quota} filter and one bucket: it speaks the real
 * RLQS proto over a real gRPC stream and enforces its assignment locally as Envoy's filter does.
 *
 * <ul>
 *   <li>Before its first assignment, and after one expires or is abandoned, it denies (the filter's
 *       {@code no_assignment_behavior} / {@code expired_assignment_behavior} set to deny all).
 *   <li>A token-bucket assignment starts full and refills continuously at
 *       {@code tokens_per_fill / fill_interval}, holding at most {@code max_tokens}; a request
 *       takes one token.
 *   <li>An assignment equal to the active one only extends its time to live; a different one
 *       replaces it at once with a new full bucket.
 * </ul>
 * Reports carry the requests allowed and denied since the last report and the time elapsed.
 */
public final class RlqsProxy implements AutoCloseable {

  /** Called when a new token bucket replaces the active assignment (for the overshoot bound). */
  public interface ChangeListener {
    void changed(RlqsProxy proxy, long oldMaxTokens, long newMaxTokens);
  }

  public final String name;
  private final String domain;
  private final BucketId bucket;
  private final WallClock clock;
  private ManagedChannel channel;
  private StreamObserver<RateLimitQuotaUsageReports> requests;
  private final AtomicInteger responses = new AtomicInteger();
  private volatile Status error;
  private volatile boolean completed;
  private ChangeListener listener = (p, o, n) -> { };

  // Enforcement state, guarded by this.
  private RateLimitStrategy active;
  private long expiresAt;
  private double tokens;
  private long lastRefill;
  private long allowed;
  private long denied;
  private long lastReport;
  private boolean sentFirst;
  /** Whether the bucket's first report was sent (on any stream: not reset by a reconnect). */
  private boolean bucketReported;
  private boolean abandoned;

  public RlqsProxy(String name, int port, String domain, Map<String, String> bucket,
      WallClock clock) {
    this.name = name;
    this.domain = domain;
    this.bucket = BucketId.newBuilder().putAllBucket(bucket).build();
    this.clock = clock;
    this.lastReport = clock.epochNanos();
    connect(port);
  }

  /** Opens a new stream to {@code port} (as Envoy does after losing one); keeps the assignment. */
  public synchronized void connect(int port) {
    if (channel != null) {
      channel.shutdownNow();
    }
    error = null;
    completed = false;
    sentFirst = false;
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    requests = RateLimitQuotaServiceGrpc.newStub(channel).streamRateLimitQuotas(
        new StreamObserver<>() {
          @Override
          public void onNext(RateLimitQuotaResponse r) {
            apply(r);
            responses.incrementAndGet();
          }

          @Override
          public void onError(Throwable t) {
            error = Status.fromThrowable(t);
          }

          @Override
          public void onCompleted() {
            completed = true;
          }
        });
  }

  public void onChange(ChangeListener l) {
    this.listener = l;
  }

  private synchronized void apply(RateLimitQuotaResponse r) {
    long now = clock.epochNanos();
    for (BucketAction a : r.getBucketActionList()) {
      if (!a.getBucketId().equals(bucket)) {
        continue;
      }
      if (a.hasAbandonAction()) {
        active = null;
        abandoned = true;
        continue;
      }
      BucketAction.QuotaAssignmentAction q = a.getQuotaAssignmentAction();
      RateLimitStrategy s = q.getRateLimitStrategy();
      long ttl = q.hasAssignmentTimeToLive() ? nanos(q.getAssignmentTimeToLive()) : Long.MAX_VALUE / 4;
      boolean live = active != null && expiresAt > now;
      if (!(live && s.equals(active))) {
        long oldMax = live && active.hasTokenBucket() ? active.getTokenBucket().getMaxTokens() : 0;
        if (s.hasTokenBucket()) {
          tokens = s.getTokenBucket().getMaxTokens();
          lastRefill = now;
          listener.changed(this, oldMax, s.getTokenBucket().getMaxTokens());
        }
        active = s;
      }
      expiresAt = now + ttl;
    }
  }

  /** Offers {@code n} requests now; returns how many are admitted. */
  public synchronized int offer(int n) {
    long now = clock.epochNanos();
    int ok = 0;
    for (int i = 0; i < n; i++) {
      if (admit(now)) {
        ok++;
        allowed++;
      } else {
        denied++;
      }
    }
    return ok;
  }

  private boolean admit(long now) {
    if (active == null || expiresAt <= now) {
      return false;
    }
    if (active.hasBlanketRule()) {
      return active.getBlanketRule() == RateLimitStrategy.BlanketRule.ALLOW_ALL;
    }
    if (active.hasTokenBucket()) {
      var b = active.getTokenBucket();
      double rate = (double) b.getTokensPerFill().getValue() / nanos(b.getFillInterval());
      tokens = Math.min(b.getMaxTokens(), tokens + (now - lastRefill) * rate);
      lastRefill = now;
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      return false;
    }
    return true;
  }

  /** Sends a usage report (the first one subscribes). */
  public synchronized void report() {
    long now = clock.epochNanos();
    // Like Envoy, the bucket's first report (sent when Envoy creates the bucket) says 0 s: Envoy
    // sends whole seconds. Later ones keep nanoseconds, for report intervals under a second.
    long elapsed = bucketReported ? Math.max(1, now - lastReport) : 0;
    bucketReported = true;
    RateLimitQuotaUsageReports.Builder r = RateLimitQuotaUsageReports.newBuilder();
    if (!sentFirst) {
      r.setDomain(domain);
    }
    r.addBucketQuotaUsages(RateLimitQuotaUsageReports.BucketQuotaUsage.newBuilder()
        .setBucketId(bucket)
        .setTimeElapsed(Duration.newBuilder().setSeconds(elapsed / 1_000_000_000L)
            .setNanos((int) (elapsed % 1_000_000_000L)))
        .setNumRequestsAllowed(allowed)
        .setNumRequestsDenied(denied));
    allowed = 0;
    denied = 0;
    lastReport = now;
    sentFirst = true;
    try {
      requests.onNext(r.build());
    } catch (RuntimeException e) {
      error = Status.fromThrowable(e);
    }
  }

  /** Responses received so far. */
  public int responses() {
    return responses.get();
  }

  /** Waits until more than {@code seen} responses arrived. */
  public boolean awaitResponse(int seen, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (responses.get() <= seen) {
      if (error != null || System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(1);
    }
    return true;
  }

  /** The active strategy, or {@code null}. */
  public synchronized RateLimitStrategy active() {
    return active != null && expiresAt > clock.epochNanos() ? active : null;
  }

  /** Whether the server told it to abandon the bucket. */
  public synchronized boolean abandoned() {
    return abandoned;
  }

  /**
   * Units per {@code windowNanos} its active assignment admits at most (max tokens plus the
   * refill over one window); 0 when none or deny all, {@code Long.MAX_VALUE} for allow all.
   */
  public synchronized long grant(long windowNanos) {
    RateLimitStrategy s = active();
    if (s == null) {
      return 0;
    }
    if (s.hasBlanketRule()) {
      return s.getBlanketRule() == RateLimitStrategy.BlanketRule.ALLOW_ALL ? Long.MAX_VALUE : 0;
    }
    var b = s.getTokenBucket();
    return (long) Math.floor(b.getMaxTokens() + (double) b.getTokensPerFill().getValue()
        * windowNanos / nanos(b.getFillInterval()) + 1e-9);
  }

  /** The stream's error status, or {@code null}. */
  public Status error() {
    return error;
  }

  public boolean completed() {
    return completed;
  }

  /** Drops the connection at once, as a crashed proxy would. */
  public synchronized void kill() {
    channel.shutdownNow();
  }

  private static long nanos(Duration d) {
    return d.getSeconds() * 1_000_000_000L + d.getNanos();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
