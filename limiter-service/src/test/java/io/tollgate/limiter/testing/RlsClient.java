package io.tollgate.limiter.testing;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.util.concurrent.TimeUnit;

/** A gRPC client of Envoy's rate-limit API over a real loopback connection. */
public final class RlsClient implements AutoCloseable {

  private final ManagedChannel channel;
  private final RateLimitServiceGrpc.RateLimitServiceBlockingStub stub;

  public RlsClient(int port) {
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    stub = RateLimitServiceGrpc.newBlockingStub(channel);
  }

  /** Calls ShouldRateLimit with a 10 s deadline. */
  public RateLimitResponse call(RateLimitRequest request) {
    return stub.withDeadlineAfter(10, TimeUnit.SECONDS).shouldRateLimit(request);
  }

  /** The async stub, for concurrent callers. */
  public RateLimitServiceGrpc.RateLimitServiceFutureStub futureStub() {
    return RateLimitServiceGrpc.newFutureStub(channel);
  }

  /** grpc.health.v1 status for service "". */
  public HealthCheckResponse.ServingStatus health() {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService("").build()).getStatus();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
