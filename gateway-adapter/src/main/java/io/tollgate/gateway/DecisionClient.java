package io.tollgate.gateway;

import com.linecorp.armeria.common.util.TransportType;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.AdvancedTlsX509TrustManager.Verification;
import io.netty.channel.EventLoopGroup;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CheckServiceGrpc;
import io.tollgate.gateway.Decision.Verdict;
import io.tollgate.gateway.GatewayConfig.FailureMode;
import io.tollgate.gateway.GatewayConfig.LimiterPolicy;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Asks the limiter about one request ({@code tollgate.v1.CheckService/Check}, with a deadline)
 * and turns its answer, or its silence, into a {@link Decision}. The fail-open/fail-closed policy
 * and the circuit breaker live here and nowhere else.
 *
 * <p>Only a call the limiter could not answer ({@link #LIMITER_FAILURES}: deadline exceeded,
 * unreachable, overloaded, an internal error, cancelled) counts against the breaker and is
 * answered by the policy: {@code fail_open} lets the request through unchecked,
 * {@code fail_closed} answers 503. While the breaker is open the limiter is not called at all.
 * Any other status (in practice {@code INVALID_ARGUMENT}) means the limiter is up and refused
 * this request: it counts as an answer for the breaker and becomes {@link Verdict#REJECTED}, never
 * fail_open, so no client can switch the limiter off by sending requests it refuses.
 *
 * <p>Connections. The channel connects at start and every call waits for a connection that is
 * being made ({@code waitForReady}), within its deadline, instead of failing at once while the
 * channel is between attempts. A channel that cannot connect tries again every {@link
 * #RECONNECT_MILLIS}, not after gRPC's growing backoff (up to two minutes), so a restarted
 * limiter is found again at once. A new connection closes the breaker: the limiter is back.
 *
 * <p>Readiness. Until one check round trip has succeeded ({@link #ready()}), the adapter does not
 * know that it can reach the limiter and answers 503 rather than let requests through unchecked.
 * A probe check (a key-requiring check without a key: the limiter answers FORBIDDEN and counts
 * nothing) is sent at start and repeated until one is answered.
 */
public final class DecisionClient implements AutoCloseable {

  /** The statuses that mean the limiter is down or overloaded, not that it refused a request. */
  static final Set<Status.Code> LIMITER_FAILURES = EnumSet.of(Status.Code.DEADLINE_EXCEEDED,
      Status.Code.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED, Status.Code.INTERNAL,
      Status.Code.UNKNOWN, Status.Code.CANCELLED);

  private static final MethodDescriptor<CheckRequest, CheckResponse> CHECK =
      CheckServiceGrpc.getCheckMethod();

  private static final Logger LOG = Logger.getLogger(DecisionClient.class.getName());

  /**
   * How soon a channel that could not connect tries again. A refused connection costs next to
   * nothing, and a limiter that comes back is then used within this time, not after gRPC's
   * exponential backoff (1 s growing to 120 s), during which every call would have to wait.
   */
  static final long RECONNECT_MILLIS = 100;
  /** The readiness probe's deadline, and the pause between failed probes. */
  static final long PROBE_DEADLINE_MILLIS = 2_000;
  static final long PROBE_INTERVAL_MILLIS = 200;

  private final ManagedChannel channel;
  private final String target;
  private final CircuitBreaker breaker = new CircuitBreaker();
  private final GatewayMetrics metrics;
  private final LongSupplier nanoClock;
  private final Supplier<CheckRequest> probe;
  /** Reconnects and readiness probes; one daemon thread, idle once connected and ready. */
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "limiter-connection");
        t.setDaemon(true);
        return t;
      });
  private volatile boolean ready;
  private volatile String notReadyReason = "no check round trip to the limiter yet";
  private volatile boolean closed;
  /** The TLS files' periodic reloads, stopped on close. */
  private final List<java.io.Closeable> reloads = new ArrayList<>();

  /**
   * A client of the limiter at {@code target} ({@code host:port}), over plaintext gRPC or, when
   * {@code tls} is enabled, TLS (optionally with a client certificate) whose PEM files are read
   * again every {@code reloadMillis}, its I/O on {@code eventLoops}; {@code probe} gives the readiness probe's request (see the
   * class comment).
   */
  public DecisionClient(String target, GatewaySettings.LimiterTls tls, long reloadMillis,
      EventLoopGroup eventLoops, GatewayMetrics metrics, LongSupplier nanoClock,
      Supplier<CheckRequest> probe) throws IOException, GeneralSecurityException {
    NettyChannelBuilder builder = tls == null || !tls.enabled()
        ? NettyChannelBuilder.forTarget(target).usePlaintext()
        : NettyChannelBuilder.forTarget(target, credentials(tls, reloadMillis));
    this.target = target;
    this.channel = builder
        // The proxy's own event loops (Armeria's): no second set of I/O threads.
        .eventLoopGroup(eventLoops)
        .channelType(TransportType.socketChannelType(eventLoops))
        // The answer is handled on gRPC's own event loop: it only records metrics and completes
        // a future whose continuation runs on the request's event loop (ProxyService). Without
        // this, every answer was first handed to gRPC's default executor, a cached thread pool:
        // one more thread wake-up per request, for no work that needed a thread of its own.
        .directExecutor()
        .enableRetry().build();
    this.metrics = metrics;
    this.nanoClock = nanoClock;
    this.probe = probe;
    // Connect now, so the first request does not pay for the connection within its deadline.
    watch(channel.getState(true));
    scheduler.execute(this::sendProbe);
  }

  /**
   * TLS to the limiter: its certificate is verified (chain and host name) against {@code
   * tls.ca()}, or the JVM's trusted CAs when none is given; {@code tls.cert()} and {@code
   * tls.key()}, when given, are this adapter's client certificate. The files are read again every
   * {@code reloadMillis} (grpc-java's AdvancedTls managers), so rotated files take effect for new
   * connections without a restart.
   */
  private ChannelCredentials credentials(GatewaySettings.LimiterTls tls, long reloadMillis)
      throws IOException, GeneralSecurityException {
    TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
    if (tls.ca() != null) {
      AdvancedTlsX509TrustManager trust = AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION).build();
      reloads.add(trust.updateTrustCredentials(tls.ca().toFile(), reloadMillis,
          TimeUnit.MILLISECONDS, scheduler));
      b.trustManager(trust);
    }
    if (tls.cert() != null) {
      AdvancedTlsX509KeyManager identity = new AdvancedTlsX509KeyManager();
      reloads.add(identity.updateIdentityCredentials(tls.cert().toFile(), tls.key().toFile(),
          reloadMillis, TimeUnit.MILLISECONDS, scheduler));
      b.keyManager(identity);
    }
    return b.build();
  }

  /** Whether a check round trip has succeeded since start, so checks can reach the limiter. */
  public boolean ready() {
    return ready;
  }

  /** Why {@link #ready()} is false, for {@code /healthz}; null when ready. */
  public String notReadyReason() {
    return ready ? null : notReadyReason;
  }

  /** The limiter's address, for logs and health. */
  public String target() {
    return target;
  }

  /** Follows the channel's state: reconnects quickly, and a new connection closes the breaker. */
  private void watch(ConnectivityState state) {
    if (closed) {
      return;
    }
    switch (state) {
      case READY -> breaker.onReconnected();
      case TRANSIENT_FAILURE -> scheduler.schedule(channel::resetConnectBackoff,
          RECONNECT_MILLIS, TimeUnit.MILLISECONDS);
      case IDLE -> channel.getState(true);
      default -> { }
    }
    channel.notifyWhenStateChanged(state, () -> watch(channel.getState(false)));
  }

  private void sendProbe() {
    if (closed || ready) {
      return;
    }
    long start = nanoClock.getAsLong();
    ClientCalls.asyncUnaryCall(channel.newCall(CHECK, CallOptions.DEFAULT.withWaitForReady()
        .withDeadlineAfter(PROBE_DEADLINE_MILLIS, TimeUnit.MILLISECONDS)), probe.get(),
        new StreamObserver<CheckResponse>() {
          @Override
          public void onNext(CheckResponse r) {
          }

          @Override
          public void onCompleted() {
            answered(start);
          }

          @Override
          public void onError(Throwable t) {
            Status status = Status.fromThrowable(t);
            if (!LIMITER_FAILURES.contains(status.getCode())) {
              answered(start);
              return;
            }
            notReadyReason = "no check round trip to the limiter at " + target + " yet (last "
                + "attempt: " + status.getCode() + (status.getDescription() == null ? ""
                : ": " + status.getDescription()) + ")";
            if (!closed) {
              scheduler.schedule(DecisionClient.this::sendProbe, PROBE_INTERVAL_MILLIS,
                  TimeUnit.MILLISECONDS);
            }
          }
        });
  }

  private void answered(long start) {
    if (!ready) {
      ready = true;
      breaker.onSuccess();
      LOG.info("limiter at " + target + " answered a check in "
          + (nanoClock.getAsLong() - start) / 1_000_000 + " ms: ready");
    }
  }

  /** The breaker's state now, for the metrics. */
  public CircuitBreaker.State breakerState(LimiterPolicy policy) {
    return breaker.state(nanoClock.getAsLong(), policy.breakerOpenMillis() * 1_000_000L);
  }

  /** Checks one request under the top-level failure mode; the future never fails. */
  public CompletableFuture<Decision> check(CheckRequest request, LimiterPolicy policy) {
    return check(request, policy, policy.failureMode());
  }

  /**
   * Checks one request; {@code mode} (the route's) decides when the limiter cannot answer. The
   * future never fails.
   */
  public CompletableFuture<Decision> check(CheckRequest request, LimiterPolicy policy,
      FailureMode mode) {
    long start = nanoClock.getAsLong();
    if (!breaker.tryAcquire(start, policy.breakerOpenMillis() * 1_000_000L)) {
      metrics.limiterFailure("circuit_open");
      return CompletableFuture.completedFuture(failed(mode, "circuit_open"));
    }
    CompletableFuture<Decision> result = new CompletableFuture<>();
    ClientCalls.asyncUnaryCall(
        // waitForReady: a connection being made is waited for within the deadline; without it
        // a call fails at once (UNAVAILABLE) whenever the channel is between two attempts.
        channel.newCall(CHECK, CallOptions.DEFAULT.withWaitForReady()
            .withDeadlineAfter(policy.deadlineMillis(), TimeUnit.MILLISECONDS)),
        request,
        new StreamObserver<CheckResponse>() {
          private CheckResponse response;

          @Override
          public void onNext(CheckResponse r) {
            response = r;
          }

          @Override
          public void onCompleted() {
            CheckResponse r = response;
            if (r == null) {
              onError(Status.INTERNAL.withDescription("no answer in a unary call")
                  .asRuntimeException());
              return;
            }
            breaker.onSuccess();
            long nanos = nanoClock.getAsLong() - start;
            Verdict v = switch (r.getReason()) {
              case ALLOWED -> Verdict.ALLOW;
              case THROTTLED -> Verdict.THROTTLED;
              case QUOTA_EXCEEDED -> Verdict.QUOTA_EXCEEDED;
              case FORBIDDEN -> Verdict.FORBIDDEN;
              default -> r.getAllowed() ? Verdict.ALLOW : Verdict.THROTTLED;
            };
            metrics.limiterCall(VERDICT_LABELS[v.ordinal()], nanos);
            result.complete(new Decision(v, r, null));
          }

          @Override
          public void onError(Throwable t) {
            long now = nanoClock.getAsLong();
            Status.Code code = Status.fromThrowable(t).getCode();
            if (!LIMITER_FAILURES.contains(code)) {
              // The limiter answered: it refused this request, it is not down.
              breaker.onSuccess();
              metrics.limiterCall("rejected", now - start);
              result.complete(new Decision(Verdict.REJECTED, null, null));
              return;
            }
            String reason = code.name().toLowerCase(java.util.Locale.ROOT);
            breaker.onFailure(start, now, policy.breakerFailures());
            metrics.limiterCall("error", now - start);
            metrics.limiterFailure(reason);
            result.complete(failed(mode, reason));
          }
        });
    return result;
  }

  /** Each verdict's metric label, computed once. */
  private static final String[] VERDICT_LABELS = labels();

  private static String[] labels() {
    Verdict[] vs = Verdict.values();
    String[] out = new String[vs.length];
    for (Verdict v : vs) {
      out[v.ordinal()] = v.name().toLowerCase(java.util.Locale.ROOT);
    }
    return out;
  }

  private static Decision failed(FailureMode mode, String reason) {
    return new Decision(mode == FailureMode.FAIL_OPEN ? Verdict.ALLOW_UNCHECKED
        : Verdict.UNAVAILABLE, null, reason);
  }

  @Override
  public void close() throws InterruptedException {
    closed = true;
    for (java.io.Closeable c : reloads) {
      try {
        c.close();
      } catch (IOException e) {
        LOG.fine("closing a TLS reload: " + e);
      }
    }
    scheduler.shutdownNow();
    channel.shutdown();
    if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
      channel.shutdownNow();
    }
  }
}
