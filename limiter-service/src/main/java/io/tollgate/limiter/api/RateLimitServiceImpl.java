package io.tollgate.limiter.api;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.stub.StreamObserver;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.metrics.LimiterMetrics.Outcome;
import io.tollgate.limiter.metrics.LimiterMetrics.Transport;
import io.tollgate.limiter.protocol.RateLimitService;

/**
 * Envoy's {@code envoy.service.ratelimit.v3.RateLimitService}. The call completes from the grid's
 * completion callback; no gRPC thread waits on the grid.
 */
public final class RateLimitServiceImpl extends RateLimitServiceGrpc.RateLimitServiceImplBase {

  private final RateLimitService service;
  private final LimiterMetrics metrics;

  /** Serves decisions from {@code service}, recording calls in {@code metrics}. */
  public RateLimitServiceImpl(RateLimitService service, LimiterMetrics metrics) {
    this.service = service;
    this.metrics = metrics;
  }

  @Override
  public void shouldRateLimit(RateLimitRequest request,
      StreamObserver<RateLimitResponse> observer) {
    long start = System.nanoTime();
    service.shouldRateLimit(request).whenComplete((response, failure) -> {
      if (failure != null) {
        metrics.recordRequest(Transport.GRPC, StatusMapping.outcome(failure),
            System.nanoTime() - start);
        observer.onError(StatusMapping.toStatus(failure).asRuntimeException());
        return;
      }
      metrics.recordRequest(Transport.GRPC,
          response.getOverallCode() == RateLimitResponse.Code.OVER_LIMIT
              ? Outcome.OVER_LIMIT : Outcome.OK,
          System.nanoTime() - start);
      observer.onNext(response);
      observer.onCompleted();
    });
  }
}
