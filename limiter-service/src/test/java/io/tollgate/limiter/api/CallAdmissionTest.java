package io.tollgate.limiter.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.grpc.stub.StreamObserver;
import io.tollgate.limiter.testing.Awaits;
import java.net.InetSocketAddress;
import java.time.Duration;
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
      HealthGrpc.HealthFutureStub stub = HealthGrpc.newFutureStub(channel)
          .withDeadlineAfter(30, TimeUnit.SECONDS);
      ListenableFuture<HealthCheckResponse> first = stub.check(
          HealthCheckRequest.getDefaultInstance());
      assertTrue(service.entered.await(10, TimeUnit.SECONDS));
      ListenableFuture<HealthCheckResponse> second = stub.check(
          HealthCheckRequest.getDefaultInstance());
      Awaits.await("the second call queued", Duration.ofSeconds(10),
          () -> admission.queuedTasks() == 1);

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
      assertEquals(ServingStatus.SERVING, first.get(10, TimeUnit.SECONDS).getStatus());
      assertEquals(ServingStatus.SERVING, second.get(10, TimeUnit.SECONDS).getStatus());
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
}
