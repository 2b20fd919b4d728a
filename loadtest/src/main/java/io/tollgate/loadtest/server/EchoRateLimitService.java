package io.tollgate.loadtest.server;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.stub.StreamObserver;

/**
 * Baseline (a): decides nothing. Answers OK with one OK status per descriptor, so its rate is
 * what the RPC layer alone allows on this machine.
 */
public final class EchoRateLimitService extends RateLimitServiceGrpc.RateLimitServiceImplBase {

  @Override
  public void shouldRateLimit(RateLimitRequest request,
      StreamObserver<RateLimitResponse> observer) {
    RateLimitResponse.Builder response = RateLimitResponse.newBuilder().setOverallCode(Code.OK);
    for (int i = 0; i < request.getDescriptorsCount(); i++) {
      response.addStatuses(RateLimitResponse.DescriptorStatus.newBuilder().setCode(Code.OK));
    }
    observer.onNext(response.build());
    observer.onCompleted();
  }
}
