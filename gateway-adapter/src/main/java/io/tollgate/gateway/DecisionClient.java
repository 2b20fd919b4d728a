package io.tollgate.gateway;

import com.linecorp.armeria.client.Endpoint;
import com.linecorp.armeria.common.util.EventLoopGroups;
import io.grpc.Status;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.AdvancedTlsX509TrustManager.Verification;
import io.micrometer.core.instrument.Counter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.EventExecutor;
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
 * <p>Transport. The call is gRPC over HTTP/2 ({@link GrpcUnary} frames it) sent by {@link
 * LimiterChannel} on the proxy's event loops: each event loop has its own connection to the
 * limiter, and a check is sent and answered on the event loop of the request it belongs to, so a
 * request never changes threads to be checked. (A grpc-java channel on the same event loops kept
 * one connection, so most checks crossed to that connection's event loop and back: two task
 * hand-offs and wake-ups per request. Armeria's HTTP client kept a connection per event loop but
 * built a request context, a request log and a response object for every check: a third of the
 * adapter's CPU per request.)
 *
 * <p>Connections. A call waits for a connection that cannot be made yet, within its deadline:
 * when the limiter cannot have seen the call (no connection could be made, the stream was
 * refused), it is sent again every {@link #RECONNECT_MILLIS} until it is answered or its deadline
 * passes (DEADLINE_EXCEEDED), as grpc-java's {@code waitForReady} did. A restarted limiter is so
 * found again within that time. A new connection after one was lost closes the breaker: the
 * limiter is back.
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

  /** {@code /tollgate.v1.CheckService/Check}. */
  private static final String CHECK_PATH =
      "/" + CheckServiceGrpc.getCheckMethod().getFullMethodName();

  private static final Logger LOG = Logger.getLogger(DecisionClient.class.getName());

  /**
   * How soon a call that found no connection tries again. A refused connection costs next to
   * nothing, and a limiter that comes back is then used within this time.
   */
  static final long RECONNECT_MILLIS = 100;
  /**
   * A connection attempt gives up after this long (a limiter host that drops packets); the
   * call then tries again, within its deadline.
   */
  static final long CONNECT_TIMEOUT_MILLIS = 2_000;
  /** The readiness probe's deadline, and the pause between failed probes. */
  static final long PROBE_DEADLINE_MILLIS = 2_000;
  static final long PROBE_INTERVAL_MILLIS = 200;

  private final LimiterChannel channel;
  private final EventLoopGroup eventLoops;
  private final String target;
  private final CircuitBreaker breaker = new CircuitBreaker();
  private final GatewayMetrics metrics;
  private final LongSupplier nanoClock;
  private final Supplier<CheckRequest> probe;
  /** Readiness probes and TLS file reloads; one daemon thread, idle once ready. */
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "limiter-connection");
        t.setDaemon(true);
        return t;
      });
  private volatile boolean ready;
  private volatile String notReadyReason = "no check round trip to the limiter yet";
  private volatile boolean closed;
  /** Set when a connection closed or could not be made; the next one that opens resets it. */
  private volatile boolean connectionLost;
  /** The TLS files' periodic reloads, stopped on close. */
  private final List<java.io.Closeable> reloads = new ArrayList<>();
  /** The first attempt's headers and options for one deadline, built once per deadline. */
  private volatile FirstAttempt firstAttempt;

  private record FirstAttempt(long deadlineMillis, Http2Headers headers) {}

  /**
   * A client of the limiter at {@code target} ({@code host:port}), over plaintext HTTP/2 or,
   * when {@code tls} is enabled, TLS (optionally with a client certificate) whose PEM files are
   * read again every {@code reloadMillis}, its I/O on {@code eventLoops}; {@code probe} gives the
   * readiness probe's request (see the class comment).
   */
  public DecisionClient(String target, GatewaySettings.LimiterTls tls, long reloadMillis,
      EventLoopGroup eventLoops, GatewayMetrics metrics, LongSupplier nanoClock,
      Supplier<CheckRequest> probe) throws IOException, GeneralSecurityException {
    boolean secure = tls != null && tls.enabled();
    Endpoint endpoint = Endpoint.parse(target);
    this.channel = new LimiterChannel(endpoint.host(), endpoint.port(secure ? 443 : 80),
        secure ? tls(tls, reloadMillis) : null, eventLoops,
        EventLoopGroups.socketChannelType(eventLoops), CONNECT_TIMEOUT_MILLIS,
        new ConnectionWatch(metrics));
    this.target = target;
    this.eventLoops = eventLoops;
    this.metrics = metrics;
    this.nanoClock = nanoClock;
    this.probe = probe;
    scheduler.execute(this::sendProbe);
  }

  /**
   * TLS to the limiter: its certificate is verified (chain and host name) against {@code
   * tls.ca()}, or the JVM's trusted CAs when none is given; {@code tls.cert()} and {@code
   * tls.key()}, when given, are this adapter's client certificate. The files are read again every
   * {@code reloadMillis} (grpc-java's AdvancedTls managers), so rotated files take effect for new
   * connections without a restart. HTTP/2 is agreed by ALPN.
   */
  private SslContext tls(GatewaySettings.LimiterTls tls, long reloadMillis)
      throws IOException, GeneralSecurityException {
    AdvancedTlsX509TrustManager trust = null;
    if (tls.ca() != null) {
      trust = AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION).build();
      reloads.add(trust.updateTrustCredentials(tls.ca().toFile(), reloadMillis,
          TimeUnit.MILLISECONDS, scheduler));
    }
    AdvancedTlsX509KeyManager identity = null;
    if (tls.cert() != null) {
      identity = new AdvancedTlsX509KeyManager();
      reloads.add(identity.updateIdentityCredentials(tls.cert().toFile(), tls.key().toFile(),
          reloadMillis, TimeUnit.MILLISECONDS, scheduler));
    }
    SslContextBuilder b = SslContextBuilder.forClient()
        // The limiter's certificate must name the host the adapter was told to call.
        .endpointIdentificationAlgorithm("HTTPS")
        .applicationProtocolConfig(new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2));
    if (trust != null) {
      b.trustManager(trust);
    }
    if (identity != null) {
      b.keyManager(identity);
    }
    try {
      return b.build();
    } catch (javax.net.ssl.SSLException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
  }

  /** Follows the connections: a new one after a loss closes the breaker. */
  private final class ConnectionWatch implements LimiterChannel.ConnectionEvents {
    private final Counter opened;

    ConnectionWatch(GatewayMetrics metrics) {
      this.opened = metrics.limiterConnectionsOpened();
    }

    @Override
    public void opened() {
      opened.increment();
      if (connectionLost) {
        connectionLost = false;
        breaker.onReconnected();
      }
    }

    @Override
    public void closed() {
      connectionLost = true;
    }
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

  /** The outcome of one call: the answer, or the status it failed with. */
  private interface Outcome {
    void done(CheckResponse response, Status status);
  }

  /**
   * Sends {@code request} until it is answered, it fails for another reason than "no
   * connection", or {@code deadlineNanos} passes; {@code outcome} runs on the event loop that
   * received the answer (the calling request's, see the class comment).
   */
  private void call(CheckRequest request, byte[] body, long deadlineNanos, long deadlineMillis,
      Outcome outcome) {
    long remainingNanos = deadlineNanos - nanoClock.getAsLong();
    if (remainingNanos <= 0) {
      outcome.done(null, Status.DEADLINE_EXCEEDED.withDescription(
          "no connection to the limiter within the deadline"));
      return;
    }
    Http2Headers headers;
    FirstAttempt first = firstAttempt;
    if (first != null && first.deadlineMillis() == deadlineMillis
        && remainingNanos >= TimeUnit.MILLISECONDS.toNanos(deadlineMillis) - 1_000_000) {
      headers = first.headers();
    } else {
      headers = channel.headers(CHECK_PATH,
          Math.max(1, TimeUnit.NANOSECONDS.toMillis(remainingNanos)));
      if (deadlineMillis > 0
          && remainingNanos >= TimeUnit.MILLISECONDS.toNanos(deadlineMillis) - 1_000_000) {
        firstAttempt = new FirstAttempt(deadlineMillis, headers);
      }
    }
    channel.call(headers, body, remainingNanos, new LimiterChannel.Reply() {
      @Override
      public void answered(int httpStatus, CharSequence grpcStatus, CharSequence grpcMessage,
          byte[] answer, int length) {
        GrpcUnary.Result<CheckResponse> r = GrpcUnary.parse(httpStatus, grpcStatus, grpcMessage,
            answer, length, CheckResponse.parser());
        outcome.done(r.message(), r.status());
      }

      @Override
      public void failed(Status status, boolean unprocessed) {
        if (unprocessed && !closed) {
          // The limiter never saw the call: no connection (yet). Wait for one, as long as the
          // deadline allows.
          connectionLost = true;
          long left = deadlineNanos - nanoClock.getAsLong();
          long waitNanos = Math.min(left, TimeUnit.MILLISECONDS.toNanos(RECONNECT_MILLIS));
          loop().schedule(() -> call(request, body, deadlineNanos, deadlineMillis, outcome),
              Math.max(waitNanos, 0), TimeUnit.NANOSECONDS);
          return;
        }
        outcome.done(null, status);
      }
    });
  }

  /** The event loop of the calling thread, else one of the group's. */
  private EventLoop loop() {
    for (EventExecutor e : eventLoops) {
      if (e.inEventLoop()) {
        return (EventLoop) e;
      }
    }
    return (EventLoop) eventLoops.next();
  }

  private void sendProbe() {
    if (closed || ready) {
      return;
    }
    long start = nanoClock.getAsLong();
    call(probe.get(), GrpcUnary.frame(probe.get()),
        start + TimeUnit.MILLISECONDS.toNanos(PROBE_DEADLINE_MILLIS), -1,
        (response, status) -> {
          if (status.isOk() || !LIMITER_FAILURES.contains(status.getCode())) {
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
   * future never fails; it completes on the event loop that received the answer.
   */
  public CompletableFuture<Decision> check(CheckRequest request, LimiterPolicy policy,
      FailureMode mode) {
    long start = nanoClock.getAsLong();
    if (!breaker.tryAcquire(start, policy.breakerOpenMillis() * 1_000_000L)) {
      metrics.limiterFailure("circuit_open");
      return CompletableFuture.completedFuture(failed(mode, "circuit_open"));
    }
    CompletableFuture<Decision> result = new CompletableFuture<>();
    long deadlineMillis = policy.deadlineMillis();
    call(request, GrpcUnary.frame(request), start + TimeUnit.MILLISECONDS.toNanos(deadlineMillis),
        deadlineMillis, (r, status) -> {
          long now = nanoClock.getAsLong();
          if (status.isOk()) {
            breaker.onSuccess();
            Verdict v = switch (r.getReason()) {
              case ALLOWED -> Verdict.ALLOW;
              case THROTTLED -> Verdict.THROTTLED;
              case QUOTA_EXCEEDED -> Verdict.QUOTA_EXCEEDED;
              case FORBIDDEN -> Verdict.FORBIDDEN;
              default -> r.getAllowed() ? Verdict.ALLOW : Verdict.THROTTLED;
            };
            metrics.limiterCall(VERDICT_LABELS[v.ordinal()], now - start);
            result.complete(new Decision(v, r, null));
            return;
          }
          Status.Code code = status.getCode();
          if (!LIMITER_FAILURES.contains(code)) {
            // The limiter answered: it refused this request, it is not down.
            breaker.onSuccess();
            metrics.limiterCall("rejected", now - start);
            result.complete(new Decision(Verdict.REJECTED, null, null));
            return;
          }
          String reason = FAILURE_LABELS[code.ordinal()];
          breaker.onFailure(start, now, policy.breakerFailures());
          metrics.limiterCall("error", now - start);
          metrics.limiterFailure(reason);
          result.complete(failed(mode, reason));
        });
    return result;
  }

  /** Each verdict's metric label, computed once. */
  private static final String[] VERDICT_LABELS = labels();
  /** Each status code's failure label (its name in lower case), computed once. */
  private static final String[] FAILURE_LABELS = failureLabels();

  private static String[] labels() {
    Verdict[] vs = Verdict.values();
    String[] out = new String[vs.length];
    for (Verdict v : vs) {
      out[v.ordinal()] = v.name().toLowerCase(java.util.Locale.ROOT);
    }
    return out;
  }

  private static String[] failureLabels() {
    Status.Code[] cs = Status.Code.values();
    String[] out = new String[cs.length];
    for (Status.Code c : cs) {
      out[c.ordinal()] = c.name().toLowerCase(java.util.Locale.ROOT);
    }
    return out;
  }

  private static Decision failed(FailureMode mode, String reason) {
    return new Decision(mode == FailureMode.FAIL_OPEN ? Verdict.ALLOW_UNCHECKED
        : Verdict.UNAVAILABLE, null, reason);
  }

  @Override
  public void close() {
    closed = true;
    for (java.io.Closeable c : reloads) {
      try {
        c.close();
      } catch (IOException e) {
        LOG.fine("closing a TLS reload: " + e);
      }
    }
    scheduler.shutdownNow();
    channel.close();
  }
}
