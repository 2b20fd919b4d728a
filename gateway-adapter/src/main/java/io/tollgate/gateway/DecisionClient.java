package io.tollgate.gateway;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CheckServiceGrpc;
import io.tollgate.gateway.Decision.Verdict;
import io.tollgate.gateway.GatewayConfig.FailureMode;
import io.tollgate.gateway.GatewayConfig.LimiterPolicy;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

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
 */
public final class DecisionClient implements AutoCloseable {

  /** The statuses that mean the limiter is down or overloaded, not that it refused a request. */
  static final Set<Status.Code> LIMITER_FAILURES = EnumSet.of(Status.Code.DEADLINE_EXCEEDED,
      Status.Code.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED, Status.Code.INTERNAL,
      Status.Code.UNKNOWN, Status.Code.CANCELLED);

  private static final MethodDescriptor<CheckRequest, CheckResponse> CHECK =
      CheckServiceGrpc.getCheckMethod();

  private final ManagedChannel channel;
  private final CircuitBreaker breaker = new CircuitBreaker();
  private final GatewayMetrics metrics;
  private final LongSupplier nanoClock;

  /** A client of the limiter at {@code target} ({@code host:port}, plaintext gRPC). */
  public DecisionClient(String target, GatewayMetrics metrics, LongSupplier nanoClock) {
    this.channel = NettyChannelBuilder.forTarget(target).usePlaintext()
        // The answer is handled on gRPC's own event loop: it only records metrics and completes
        // a future whose continuation runs on the request's event loop (ProxyService). Without
        // this, every answer was first handed to gRPC's default executor, a cached thread pool:
        // one more thread wake-up per request, for no work that needed a thread of its own.
        .directExecutor()
        // A limiter that restarts is found again quickly; the breaker limits the cost meanwhile.
        .enableRetry().build();
    // Connect now, so the first request does not pay for the connection within its deadline.
    channel.getState(true);
    this.metrics = metrics;
    this.nanoClock = nanoClock;
  }

  /** The breaker's state now, for the metrics. */
  public CircuitBreaker.State breakerState(LimiterPolicy policy) {
    return breaker.state(nanoClock.getAsLong(), policy.breakerOpenMillis() * 1_000_000L);
  }

  /** Checks one request; the future never fails. */
  public CompletableFuture<Decision> check(CheckRequest request, LimiterPolicy policy) {
    long start = nanoClock.getAsLong();
    if (!breaker.tryAcquire(start, policy.breakerOpenMillis() * 1_000_000L)) {
      metrics.limiterFailure("circuit_open");
      return CompletableFuture.completedFuture(failed(policy, "circuit_open"));
    }
    CompletableFuture<Decision> result = new CompletableFuture<>();
    ClientCalls.asyncUnaryCall(
        channel.newCall(CHECK, CallOptions.DEFAULT.withDeadlineAfter(policy.deadlineMillis(),
            TimeUnit.MILLISECONDS)),
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
            result.complete(failed(policy, reason));
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

  private static Decision failed(LimiterPolicy policy, String reason) {
    return new Decision(policy.failureMode() == FailureMode.FAIL_OPEN ? Verdict.ALLOW_UNCHECKED
        : Verdict.UNAVAILABLE, null, reason);
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdown();
    if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
      channel.shutdownNow();
    }
  }
}
