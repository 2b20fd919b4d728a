package io.tollgate.loadtest.server;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.MapConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.distributed.proxy.AsyncProxyManager;
import io.github.bucket4j.grid.hazelcast.Bucket4jHazelcast;
import io.github.bucket4j.grid.hazelcast.HazelcastProxyManager;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Baseline (b), the Java peer: Bucket4j over an embedded Hazelcast member, through its async
 * proxy manager (one entry processor per descriptor, all in flight at once). Each key gets a
 * bucket of {@code limit} tokens refilled all at once every second, the closest Bucket4j comes to
 * a fixed window of {@code limit} per second. The map has one synchronous backup, as Tollgate's.
 */
public final class Bucket4jRateLimitService extends RateLimitServiceGrpc.RateLimitServiceImplBase {

  /** The serializer type ids Bucket4j registers start here; clear of Tollgate's 0x7011xx. */
  private static final int SERIALIZER_TYPE_ID_BASE = 1000;
  private static final String MAP = "bucket4j-buckets";

  private final AsyncProxyManager<String> buckets;
  private final BucketConfiguration configuration;
  private final long limit;

  public Bucket4jRateLimitService(HazelcastInstance member, long limit) {
    IMap<String, byte[]> map = member.getMap(MAP);
    HazelcastProxyManager<String> proxies = Bucket4jHazelcast.entryProcessorBasedBuilder(map)
        .build();
    this.buckets = proxies.asAsync();
    this.limit = limit;
    this.configuration = BucketConfiguration.builder()
        .addLimit(Bandwidth.builder().capacity(limit)
            .refillIntervally(limit, Duration.ofSeconds(1)).build())
        .build();
  }

  /** Adds Bucket4j's serializers and its map to a member's config. */
  public static void configure(Config config) {
    HazelcastProxyManager.addCustomSerializers(config.getSerializationConfig(),
        SERIALIZER_TYPE_ID_BASE);
    config.addMapConfig(new MapConfig(MAP).setBackupCount(1).setAsyncBackupCount(0)
        .setInMemoryFormat(InMemoryFormat.BINARY));
  }

  @Override
  public void shouldRateLimit(RateLimitRequest request,
      StreamObserver<RateLimitResponse> observer) {
    int n = request.getDescriptorsCount();
    @SuppressWarnings("unchecked")
    CompletableFuture<ConsumptionProbe>[] probes = new CompletableFuture[n];
    CompletableFuture<BucketConfiguration> config = CompletableFuture.completedFuture(configuration);
    for (int i = 0; i < n; i++) {
      probes[i] = buckets.builder()
          .build(Responses.key(request.getDomain(), request.getDescriptors(i)), () -> config)
          .tryConsumeAndReturnRemaining(Responses.hits(request, i));
    }
    CompletableFuture.allOf(probes).whenComplete((ignored, failure) -> {
      if (failure != null) {
        observer.onError(Status.UNAVAILABLE.withDescription(String.valueOf(failure.getMessage()))
            .asRuntimeException());
        return;
      }
      boolean[] allowed = new boolean[n];
      long[] remaining = new long[n];
      for (int i = 0; i < n; i++) {
        ConsumptionProbe p = probes[i].join();
        allowed[i] = p.isConsumed();
        remaining[i] = p.getRemainingTokens();
      }
      observer.onNext(Responses.response(allowed, remaining, limit));
      observer.onCompleted();
    });
  }
}
