package io.tollgate.loadtest;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.internal.util.ConcurrencyUtil;
import io.grpc.BindableService;
import io.grpc.Server;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.grid.GridThreads;
import io.tollgate.loadtest.server.BlockingImapRateLimitService;
import io.tollgate.loadtest.server.Bucket4jRateLimitService;
import io.tollgate.loadtest.server.EchoRateLimitService;
import io.tollgate.loadtest.server.GrpcSettings;
import io.tollgate.loadtest.server.HttpUpstream;
import io.tollgate.loadtest.server.RedisRateLimitService;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Starts one baseline behind Envoy's RLS gRPC API (or the HTTP upstream) and serves until killed.
 * Hazelcast-backed baselines start an embedded member with the limiter's own member settings
 * (GridMember), and run Hazelcast's completion callbacks on the pool the limiter uses for its own
 * ({@link GridThreads#CALLBACKS}), so the comparison is not skewed by the two-core ForkJoinPool
 * pitfall. The limiter passes that pool to its stores; Bucket4j's async path has no such hook, so
 * this baseline process sets it as Hazelcast's default.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Serve a baseline: echo, bucket4j, redis, imap-blocking (RLS gRPC) or http-upstream.")
final class ServeCommand implements Callable<Integer> {

  @Option(names = "--kind", required = true,
      description = "echo | bucket4j | redis | imap-blocking | http-upstream")
  String kind;

  @Option(names = "--port", required = true, description = "gRPC (or HTTP) port on 127.0.0.1")
  int port;

  @Option(names = "--grpc-settings", defaultValue = "tollgate",
      description = "tollgate (the limiter's executor and limits) or default (grpc-java's). Default: ${DEFAULT-VALUE}; imap-blocking always uses default")
  String grpcSettings;

  @Option(names = "--cluster-port", defaultValue = "0",
      description = "bucket4j, imap-blocking: the embedded member's port")
  int clusterPort;

  @Option(names = "--redis", defaultValue = "127.0.0.1:6379", description = "redis: host:port. Default: ${DEFAULT-VALUE}")
  String redis;

  @Option(names = "--redis-connections", defaultValue = "4", description = "redis: connections. Default: ${DEFAULT-VALUE}")
  int redisConnections;

  @Option(names = "--limit", defaultValue = "1000",
      description = "requests per second per key for the deciding baselines. Default: ${DEFAULT-VALUE}")
  long limit;

  @Override
  public Integer call() throws Exception {
    GrpcSettings settings = "default".equals(grpcSettings) ? GrpcSettings.DEFAULT
        : GrpcSettings.TOLLGATE;
    AutoCloseable closer = () -> { };
    BindableService service;
    HazelcastInstance member = null;
    switch (kind) {
      case "echo" -> service = new EchoRateLimitService();
      case "bucket4j" -> {
        Config config = memberConfig();
        Bucket4jRateLimitService.configure(config);
        ConcurrencyUtil.setDefaultAsyncExecutor(GridThreads.CALLBACKS);
        member = GridMember.start(config);
        service = new Bucket4jRateLimitService(member, limit);
      }
      case "imap-blocking" -> {
        Config config = memberConfig();
        BlockingImapRateLimitService.configure(config);
        ConcurrencyUtil.setDefaultAsyncExecutor(GridThreads.CALLBACKS);
        member = GridMember.start(config);
        service = new BlockingImapRateLimitService(member, limit);
        settings = GrpcSettings.DEFAULT;
      }
      case "redis" -> {
        String[] hp = redis.split(":");
        RedisRateLimitService r = new RedisRateLimitService(hp[0], Integer.parseInt(hp[1]),
            redisConnections, limit);
        service = r;
        closer = r;
      }
      case "http-upstream" -> {
        HttpUpstream upstream = new HttpUpstream(port);
        System.out.println("http-upstream listening on 127.0.0.1:" + upstream.port() + " pid "
            + ProcessHandle.current().pid());
        new CountDownLatch(1).await();
        return 0;
      }
      default -> throw new IllegalArgumentException("--kind: unknown '" + kind
          + "' (expected echo, bucket4j, redis, imap-blocking or http-upstream)");
    }
    Server server = settings.start(port, service);
    System.out.println(kind + " (" + settings.name().toLowerCase() + " gRPC settings) listening on 127.0.0.1:"
        + server.getPort() + " pid " + ProcessHandle.current().pid());
    HazelcastInstance m = member;
    AutoCloseable c = closer;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdownNow();
      try {
        c.close();
      } catch (Exception e) {
        // exiting anyway
      }
      if (m != null) {
        m.getLifecycleService().terminate();
      }
    }));
    server.awaitTermination();
    return 0;
  }

  private Config memberConfig() {
    if (clusterPort == 0) {
      throw new IllegalArgumentException("--cluster-port is required for " + kind);
    }
    return GridMember.config("loadtest-" + kind + "-" + clusterPort, "127.0.0.1", clusterPort,
        List.of(), WallClock.SYSTEM);
  }
}
