package io.tollgate.gateway;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CheckServiceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in for the limiter's {@code tollgate.v1.CheckService} on a real port of 127.0.0.1,
 * for failure tests that need a limiter which answers, stalls or goes away on command. It
 * answers a key-requiring check without a key (the adapter's readiness probe) FORBIDDEN, and
 * every other check ALLOWED (with {@link #keyId} as the key id the request was counted against),
 * unless {@link #stall} is set: then those are held unanswered.
 */
final class FakeLimiter implements AutoCloseable {

  final Server server;
  final AtomicLong checks = new AtomicLong();
  volatile boolean stall;
  /** The key id an ALLOWED answer names; empty for none. */
  volatile String keyId = "";
  private final List<StreamObserver<CheckResponse>> held = new CopyOnWriteArrayList<>();

  FakeLimiter(int port) throws IOException {
    this(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)));
  }

  /** A stand-in speaking TLS with {@code credentials} (e.g. requiring client certificates). */
  FakeLimiter(int port, io.grpc.ServerCredentials credentials) throws IOException {
    this(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port), credentials));
  }

  private FakeLimiter(NettyServerBuilder builder) throws IOException {
    server = builder.addService(new CheckServiceGrpc.CheckServiceImplBase() {
      @Override
      public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
        if (request.getKeyRequired() && request.getApiKey().isEmpty()) {
          observer.onNext(CheckResponse.newBuilder().setReason(CheckResponse.Reason.FORBIDDEN)
              .build());
          observer.onCompleted();
          return;
        }
        checks.incrementAndGet();
        if (stall) {
          held.add(observer);
          return;
        }
        observer.onNext(CheckResponse.newBuilder().setAllowed(true)
            .setReason(CheckResponse.Reason.ALLOWED).setKeyId(keyId).build());
        observer.onCompleted();
      }
    }).build().start();
  }

  int port() {
    return server.getPort();
  }

  String target() {
    return "127.0.0.1:" + port();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }
}
