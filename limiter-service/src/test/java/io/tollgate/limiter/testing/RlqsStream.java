package io.tollgate.limiter.testing;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.BucketId;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaServiceGrpc;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports.BucketQuotaUsage;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** One raw RLQS stream: send any report, read the responses and the end of the stream. */
public final class RlqsStream implements AutoCloseable {

  private final ManagedChannel channel;
  private final StreamObserver<RateLimitQuotaUsageReports> requests;
  private final BlockingQueue<RateLimitQuotaResponse> responses = new LinkedBlockingQueue<>();
  /** Completes with the stream's end: OK for a completed stream, else its error. */
  public final CompletableFuture<Status> end = new CompletableFuture<>();

  public RlqsStream(int port) {
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    requests = RateLimitQuotaServiceGrpc.newStub(channel).streamRateLimitQuotas(
        new StreamObserver<>() {
          @Override
          public void onNext(RateLimitQuotaResponse r) {
            responses.add(r);
          }

          @Override
          public void onError(Throwable t) {
            end.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            end.complete(Status.OK);
          }
        });
  }

  public void send(RateLimitQuotaUsageReports reports) {
    requests.onNext(reports);
  }

  /** Sends one usage of one bucket over one second, with the domain if given. */
  public void report(String domain, Map<String, String> bucket, long allowed, long denied) {
    send(RateLimitQuotaUsageReports.newBuilder().setDomain(domain == null ? "" : domain)
        .addBucketQuotaUsages(usage(bucket, allowed, denied)).build());
  }

  public static BucketQuotaUsage usage(Map<String, String> bucket, long allowed, long denied) {
    return BucketQuotaUsage.newBuilder()
        .setBucketId(BucketId.newBuilder().putAllBucket(bucket))
        .setTimeElapsed(Duration.newBuilder().setSeconds(1))
        .setNumRequestsAllowed(allowed).setNumRequestsDenied(denied).build();
  }

  /** The next response; fails after 10 s. */
  public RateLimitQuotaResponse next() throws InterruptedException {
    RateLimitQuotaResponse r = responses.poll(10, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("no response within 10 s; stream end: " + end.getNow(null));
    }
    return r;
  }

  /** The stream's end status; fails after 10 s. */
  public Status awaitEnd() throws Exception {
    return end.get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
