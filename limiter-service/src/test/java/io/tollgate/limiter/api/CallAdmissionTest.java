package io.tollgate.limiter.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.stub.StreamObserver;
import io.tollgate.limiter.testing.Awaits;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The call queue's bound, on a real Netty gRPC server whose one call thread the test holds: a
 * service that blocks until released stands in for a slow moment of the limiter.
 */
class CallAdmissionTest {

  private static final class Blocking extends HealthGrpc.HealthImplBase {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> out) {
      entered.countDown();
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      out.onNext(HealthCheckResponse.newBuilder().setStatus(ServingStatus.SERVING).build());
      out.onCompleted();
    }
  }

  @Test
  void aCallArrivingWhileTheQueueIsFullGetsResourceExhausted() throws Exception {
    Blocking service = new Blocking();
    CallAdmission admission = new CallAdmission(1, 1);
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .directExecutor().callExecutor(admission).addService(service)
        .intercept(admission.interceptor()).build().start();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().build();
    try {
      List<ListenableFuture<HealthCheckResponse>> held = holdThePoolAndFillItsQueue(
          service, admission, channel);

      // A client cannot pass the marker itself to get someone refused, nor to skip the queue.
      Metadata spoof = new Metadata();
      spoof.put(Metadata.Key.of("x-tollgate-internal-refused", Metadata.ASCII_STRING_MARSHALLER),
          "0");
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
              .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(spoof))
              .check(HealthCheckRequest.getDefaultInstance()));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
      assertEquals(1, admission.refusedCalls());

      service.release.countDown();
      for (ListenableFuture<HealthCheckResponse> call : held) {
        assertEquals(ServingStatus.SERVING, call.get(10, TimeUnit.SECONDS).getStatus());
      }
      // With the queue empty again, calls are admitted, the spoofed marker or not.
      assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(spoof))
          .check(HealthCheckRequest.getDefaultInstance()).getStatus());
    } finally {
      service.release.countDown();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      admission.close();
    }
  }

  /** Answers at once, noting the thread it ran on. */
  private static final class Immediate extends RateLimitServiceGrpc.RateLimitServiceImplBase {
    volatile String thread;

    @Override
    public void shouldRateLimit(RateLimitRequest request,
        StreamObserver<RateLimitResponse> out) {
      thread = Thread.currentThread().getName();
      out.onNext(RateLimitResponse.newBuilder()
          .setOverallCode(RateLimitResponse.Code.OK).build());
      out.onCompleted();
    }
  }

  @Test
  void decisionsRunOnTheTransportThreadAndAreAnsweredWhileThePoolIsFull() throws Exception {
    Blocking blocking = new Blocking();
    Immediate decisions = new Immediate();
    CallAdmission admission = new CallAdmission(1, 1, Set.of(
        RateLimitServiceGrpc.getShouldRateLimitMethod().getFullMethodName()));
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .directExecutor().callExecutor(admission).addService(blocking).addService(decisions)
        .intercept(admission.interceptor()).build().start();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().build();
    try {
      // The pool's one thread is held and its queue is full: other calls are refused...
      List<ListenableFuture<HealthCheckResponse>> held = holdThePoolAndFillItsQueue(
          blocking, admission, channel);
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance()));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());

      // ...and a decision is still answered, on the thread that read it, not the pool's.
      for (int i = 0; i < 3; i++) {
        RateLimitResponse r = RateLimitServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .shouldRateLimit(RateLimitRequest.newBuilder().setDomain("d").build());
        assertEquals(RateLimitResponse.Code.OK, r.getOverallCode());
      }
      assertFalse(decisions.thread.startsWith("tollgate-grpc"), decisions.thread);
      assertEquals(1, admission.refusedCalls());

      blocking.release.countDown();
      for (ListenableFuture<HealthCheckResponse> call : held) {
        assertEquals(ServingStatus.SERVING, call.get(10, TimeUnit.SECONDS).getStatus());
      }
    } finally {
      blocking.release.countDown();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      admission.close();
    }
  }

  /**
   * With a pool of one thread and a queue of one: one call holds the thread, a second waits in
   * the queue. Answers both calls, still open.
   */
  private static List<ListenableFuture<HealthCheckResponse>> holdThePoolAndFillItsQueue(
      Blocking service, CallAdmission admission, ManagedChannel channel) throws Exception {
    HealthGrpc.HealthFutureStub stub = HealthGrpc.newFutureStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS);
    ListenableFuture<HealthCheckResponse> running = stub.check(
        HealthCheckRequest.getDefaultInstance());
    assertTrue(service.entered.await(10, TimeUnit.SECONDS));
    ListenableFuture<HealthCheckResponse> queued = stub.check(
        HealthCheckRequest.getDefaultInstance());
    Awaits.await("the second call queued", Duration.ofSeconds(10),
        () -> admission.queuedTasks() == 1);
    return List.of(running, queued);
  }
}
