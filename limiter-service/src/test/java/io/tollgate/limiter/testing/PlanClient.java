package io.tollgate.limiter.testing;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.tollgate.api.v1.AdminServiceGrpc;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CheckServiceGrpc;
import java.util.concurrent.TimeUnit;

/** A gRPC client of tollgate.v1's check and admin services over a real loopback connection. */
public final class PlanClient implements AutoCloseable {

  /** The admin token the plan tests start limiters with. */
  public static final String TOKEN = "test-admin-token-0123456789abcdef";

  private final ManagedChannel channel;

  public PlanClient(int port) {
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  /** One check with a 10 s deadline. */
  public CheckResponse check(CheckRequest request) {
    return checks().check(request);
  }

  /** The check stub with a 10 s deadline. */
  public CheckServiceGrpc.CheckServiceBlockingStub checks() {
    return CheckServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  /** The async check stub, for concurrent callers. */
  public CheckServiceGrpc.CheckServiceFutureStub futureChecks() {
    return CheckServiceGrpc.newFutureStub(channel);
  }

  /** The admin stub carrying {@link #TOKEN}, with a 30 s deadline. */
  public AdminServiceGrpc.AdminServiceBlockingStub admin() {
    return admin(TOKEN);
  }

  /** The admin stub carrying {@code token} (none when {@code null}). */
  public AdminServiceGrpc.AdminServiceBlockingStub admin(String token) {
    AdminServiceGrpc.AdminServiceBlockingStub stub = AdminServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS);
    if (token == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + token);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** A check of {@code api/stage METHOD route} with {@code key}. */
  public static CheckRequest request(String key, String api, String stage, String method,
      String route) {
    return CheckRequest.newBuilder().setApiKey(key).setApi(api).setStage(stage)
        .setMethod(method).setRoute(route).setKeyRequired(true).build();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
