package io.tollgate.limiter.api;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.LimiterExtension;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The gRPC port's bounds, on a real limiter. */
class GrpcBoundsTest {

  @RegisterExtension
  static final LimiterExtension LIMITER = new LimiterExtension("/service/rules.yaml");

  private static Path rules() throws Exception {
    return Path.of(GrpcBoundsTest.class.getResource("/service/rules.yaml").toURI());
  }

  @Test
  void messagesOverOneMebibyteAreRefusedAndCountNothing() {
    String huge = "v".repeat(1024 * 1024 + 1);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> LIMITER.limiter().client.call(request("test", descriptor("five", huge))));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getMessage());
    var status = LIMITER.limiter().client.call(request("test", descriptor("five", "big")))
        .getStatuses(0);
    assertEquals(Code.OK, status.getCode());
    assertEquals(4, status.getLimitRemaining());
    assertEquals(ServingStatus.SERVING, LIMITER.limiter().client.health());
  }

  /** A Health.Watch stream: its first message arrives at once, then it stays open. */
  private static final class Watch implements ClientResponseObserver<HealthCheckRequest,
      HealthCheckResponse> {
    final BlockingQueue<ServingStatus> seen = new LinkedBlockingQueue<>();
    ClientCallStreamObserver<HealthCheckRequest> call;

    @Override
    public void beforeStart(ClientCallStreamObserver<HealthCheckRequest> requestStream) {
      call = requestStream;
    }

    @Override
    public void onNext(HealthCheckResponse value) {
      seen.add(value.getStatus());
    }

    volatile Throwable error;

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {}
  }

  @Test
  void callsPerConnectionAreCapped() throws Exception {
    try (InJvmLimiter limiter = InJvmLimiter.start(rules(), new FakeClock(),
        "--grpc-max-calls-per-connection", "2")) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", limiter.grpcPort())
          .usePlaintext().build();
      try {
        HealthGrpc.HealthStub stub = HealthGrpc.newStub(channel);
        List<Watch> watches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          Watch w = new Watch();
          stub.watch(HealthCheckRequest.getDefaultInstance(), w);
          watches.add(w);
          if (i < 2) {
            assertEquals(ServingStatus.SERVING, w.seen.poll(10, TimeUnit.SECONDS));
          }
        }
        // The third stream is not started while two are open (bounded wait: nothing may come).
        assertNull(watches.get(2).seen.poll(1, TimeUnit.SECONDS));
        assertNull(watches.get(2).error);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void connectionsAreClosedWhenOldOrIdle() throws Exception {
    try (InJvmLimiter limiter = InJvmLimiter.start(rules(), new FakeClock(),
        "--grpc-max-connection-age-seconds", "1", "--grpc-max-connection-idle-seconds", "1")) {
      // Calls keep working while the server retires the connection under them.
      Awaits.await("a second connection after the first aged out", Duration.ofSeconds(30), () -> {
        assertEquals(ServingStatus.SERVING, limiter.client.health());
        return limiter.metric("ratelimit_grpc_connections_opened_total") >= 2;
      });
      // Without calls, the connection is closed after a second idle.
      Awaits.await("the idle connection closed", Duration.ofSeconds(30),
          () -> limiter.metric("ratelimit_grpc_connections") == 0);
    }
  }

  /**
   * Past --grpc-max-connections open at once, a new connection is closed as soon as it is
   * accepted, and counted; once one closes, a new one is served. The limiter's own test client
   * holds one of the two connections allowed here.
   */
  @Test
  void connectionsPastTheBoundAreClosedOnAccept() throws Exception {
    try (InJvmLimiter limiter = InJvmLimiter.start(rules(), new FakeClock(),
        "--grpc-max-connections", "2")) {
      assertEquals(ServingStatus.SERVING, limiter.client.health());
      ManagedChannel second = NettyChannelBuilder.forAddress("127.0.0.1", limiter.grpcPort())
          .usePlaintext().build();
      try {
        assertEquals(ServingStatus.SERVING, health(second));
        try (Socket third = new Socket("127.0.0.1", limiter.grpcPort())) {
          third.setSoTimeout(10_000);
          // Closed by the server before it sent anything, not even its SETTINGS frame.
          assertEquals(-1, third.getInputStream().read());
        }
        assertEquals(1.0, limiter.metric("ratelimit_grpc_connections_refused_total"));
        // The two open connections are still served.
        assertEquals(ServingStatus.SERVING, limiter.client.health());
        assertEquals(ServingStatus.SERVING, health(second));
      } finally {
        second.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      // One closed: a new connection is served (bounded wait for the server to see the close).
      Awaits.await("a new connection served after one closed", Duration.ofSeconds(30), () -> {
        ManagedChannel next = NettyChannelBuilder.forAddress("127.0.0.1", limiter.grpcPort())
            .usePlaintext().build();
        try {
          return health(next) == ServingStatus.SERVING;
        } catch (StatusRuntimeException e) {
          return false;
        } finally {
          next.shutdownNow();
        }
      });
    }
  }

  private static ServingStatus health(ManagedChannel channel) {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus();
  }
}
