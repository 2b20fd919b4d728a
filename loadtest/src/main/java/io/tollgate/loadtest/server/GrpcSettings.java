package io.tollgate.loadtest.server;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The two gRPC server set-ups the baselines run with. {@code TOLLGATE} copies the limiter's
 * (LimiterServer): a fixed pool of {@code max(2, cores)} call threads and at most 10,000 calls per
 * connection, so that a ratio to a baseline measures the decision and not the settings.
 * {@code DEFAULT} is grpc-java's out of the box (a cached, unbounded pool), which the blocking
 * baseline needs: it parks one call thread per call in flight.
 */
public enum GrpcSettings {
  TOLLGATE,
  DEFAULT;

  /** Builds and starts a server on 127.0.0.1:{@code port} (0 for any free port). */
  public Server start(int port, BindableService service) throws IOException {
    NettyServerBuilder builder = NettyServerBuilder.forAddress(
        new InetSocketAddress("127.0.0.1", port));
    if (this == TOLLGATE) {
      int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
      ExecutorService executor = Executors.newFixedThreadPool(threads, r -> {
        Thread t = new Thread(r, "baseline-grpc");
        t.setDaemon(true);
        return t;
      });
      builder.executor(executor).maxConcurrentCallsPerConnection(10_000);
    }
    return builder.addService(service).build().start();
  }
}
