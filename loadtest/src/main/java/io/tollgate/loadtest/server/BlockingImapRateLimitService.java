package io.tollgate.loadtest.server;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.MapConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.Map;

/**
 * Baseline (d), the obvious first design: for each descriptor in turn, one blocking
 * {@code IMap.executeOnKey} with a fixed-window entry processor, on the gRPC call thread. The
 * processor runs again on the backup (Hazelcast's default), the map has one synchronous backup.
 * It needs gRPC's default, unbounded executor: every call in flight holds a thread.
 */
public final class BlockingImapRateLimitService
    extends RateLimitServiceGrpc.RateLimitServiceImplBase {

  static final int FACTORY_ID = 0x7012;
  private static final String MAP = "blocking-counters";

  private final IMap<String, long[]> counters;
  private final long limit;

  public BlockingImapRateLimitService(HazelcastInstance member, long limit) {
    this.counters = member.getMap(MAP);
    this.limit = limit;
  }

  /** Adds the processor's serialization and the map to a member's config. */
  public static void configure(Config config) {
    config.getSerializationConfig().addDataSerializableFactory(FACTORY_ID,
        id -> id == 1 ? new WindowProcessor() : null);
    config.addMapConfig(new MapConfig(MAP).setBackupCount(1).setAsyncBackupCount(0)
        .setInMemoryFormat(InMemoryFormat.OBJECT));
  }

  @Override
  public void shouldRateLimit(RateLimitRequest request,
      StreamObserver<RateLimitResponse> observer) {
    int n = request.getDescriptorsCount();
    boolean[] allowed = new boolean[n];
    long[] remaining = new long[n];
    try {
      for (int i = 0; i < n; i++) {
        long count = counters.executeOnKey(
            Responses.key(request.getDomain(), request.getDescriptors(i)),
            new WindowProcessor(Responses.hits(request, i), limit, 1_000));
        allowed[i] = count >= 0;
        remaining[i] = count >= 0 ? limit - count : 0;
      }
    } catch (RuntimeException e) {
      observer.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    observer.onNext(Responses.response(allowed, remaining, limit));
    observer.onCompleted();
  }

  /**
   * A fixed window: the value is {@code {windowIndex, count}}; returns the count after adding
   * {@code hits}, or -1 when that would exceed the limit (then nothing is added).
   */
  public static final class WindowProcessor
      implements EntryProcessor<String, long[], Long>, IdentifiedDataSerializable {

    private long hits;
    private long limit;
    private long windowMillis;

    public WindowProcessor() {}

    WindowProcessor(long hits, long limit, long windowMillis) {
      this.hits = hits;
      this.limit = limit;
      this.windowMillis = windowMillis;
    }

    @Override
    public Long process(Map.Entry<String, long[]> entry) {
      long window = System.currentTimeMillis() / windowMillis;
      long[] v = entry.getValue();
      long count = v == null || v[0] != window ? 0 : v[1];
      if (count + hits > limit) {
        return -1L;
      }
      entry.setValue(new long[] {window, count + hits});
      return count + hits;
    }

    @Override
    public int getFactoryId() {
      return FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return 1;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeLong(hits);
      out.writeLong(limit);
      out.writeLong(windowMillis);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      hits = in.readLong();
      limit = in.readLong();
      windowMillis = in.readLong();
    }
  }
}
