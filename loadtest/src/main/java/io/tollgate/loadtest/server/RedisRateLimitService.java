package io.tollgate.loadtest.server;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Baseline (c): what envoyproxy/ratelimit does with Redis. For each descriptor, {@code INCRBY
 * key hits} and {@code EXPIRE key unit} are sent back to back without waiting (pipelined) on one
 * of a few connections, the key carrying the start of the current one-second window (a fixed
 * window); a descriptor is over its limit when the count after the increment exceeds it. As in
 * envoyproxy/ratelimit, denied hits are counted too.
 */
public final class RedisRateLimitService extends RateLimitServiceGrpc.RateLimitServiceImplBase
    implements AutoCloseable {

  private static final long WINDOW_SECONDS = 1;

  private final RedisClient client;
  private final List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();
  private final List<RedisAsyncCommands<String, String>> commands = new ArrayList<>();
  private final AtomicInteger next = new AtomicInteger();
  private final long limit;

  /**
   * @param connections how many connections to spread calls over (envoyproxy/ratelimit's
   *     REDIS_POOL_SIZE defaults to 10; a handful suffices on two cores)
   */
  public RedisRateLimitService(String host, int port, int connections, long limit) {
    this.client = RedisClient.create(RedisURI.create(host, port));
    for (int i = 0; i < connections; i++) {
      StatefulRedisConnection<String, String> c = client.connect();
      this.connections.add(c);
      this.commands.add(c.async());
    }
    this.limit = limit;
  }

  @Override
  public void shouldRateLimit(RateLimitRequest request,
      StreamObserver<RateLimitResponse> observer) {
    int n = request.getDescriptorsCount();
    RedisAsyncCommands<String, String> redis =
        commands.get(Math.floorMod(next.getAndIncrement(), commands.size()));
    long window = System.currentTimeMillis() / 1000 / WINDOW_SECONDS * WINDOW_SECONDS;
    @SuppressWarnings("unchecked")
    RedisFuture<Long>[] counts = new RedisFuture[n];
    CompletableFuture<?>[] all = new CompletableFuture[2 * n];
    for (int i = 0; i < n; i++) {
      String key = Responses.key(request.getDomain(), request.getDescriptors(i)) + "_" + window;
      counts[i] = redis.incrby(key, Responses.hits(request, i));
      all[2 * i] = counts[i].toCompletableFuture();
      all[2 * i + 1] = redis.expire(key, WINDOW_SECONDS).toCompletableFuture();
    }
    CompletableFuture.allOf(all).whenComplete((ignored, failure) -> {
      if (failure != null) {
        observer.onError(Status.UNAVAILABLE.withDescription(String.valueOf(failure.getMessage()))
            .asRuntimeException());
        return;
      }
      boolean[] allowed = new boolean[n];
      long[] remaining = new long[n];
      for (int i = 0; i < n; i++) {
        long count = counts[i].toCompletableFuture().join();
        allowed[i] = count <= limit;
        remaining[i] = Math.max(0, limit - count);
      }
      observer.onNext(Responses.response(allowed, remaining, limit));
      observer.onCompleted();
    });
  }

  @Override
  public void close() {
    for (StatefulRedisConnection<String, String> c : connections) {
      c.close();
    }
    client.shutdown();
  }
}
