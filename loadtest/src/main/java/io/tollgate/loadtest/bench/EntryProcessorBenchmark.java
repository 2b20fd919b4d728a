package io.tollgate.loadtest.bench;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.MapConfig;
import com.hazelcast.core.HazelcastInstance;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.grid.PartitionedLimitStore;
import io.tollgate.limiter.grid.HazelcastLimitStore;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.loadtest.generate.ZipfSampler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The grid path of one decision on an embedded standalone member, waiting for the answer, for
 * both stores: {@code per-key} is {@code HazelcastLimitStore} (one {@code submitToKey} per
 * decision with the acquire processor, its state copy, TTL and backup processor; the quota
 * counters still use it) and {@code partitioned} is {@code PartitionedLimitStore} (the rules'
 * counters, one entry per key too: calls waiting for a partition go as one batch). With one
 * member the backup is not sent, so this is the owner-side cost plus Hazelcast's local
 * invocation path.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "java.se",
    "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.management/sun.management=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED"})
public class EntryProcessorBenchmark {

  private static final int KEYS = 10_000;
  private static final String PER_KEY_MAP = "bench-per-key";
  private static final int MASK = (1 << 16) - 1;

  private HazelcastInstance member;
  @Param({"per-key", "partitioned"})
  public String storeKind;

  private LimitStore store;
  private LimitAlgorithm algorithm;
  private String[] keys;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      port = s.getLocalPort();
    }
    Config config = GridMember.config("bench-" + port, "127.0.0.1", port, List.of(),
        WallClock.SYSTEM);
    // The per-key store's map, configured as the grid configures its counter maps.
    config.addMapConfig(new MapConfig(PER_KEY_MAP).setBackupCount(1).setAsyncBackupCount(0)
        .setInMemoryFormat(InMemoryFormat.OBJECT));
    member = GridMember.start(config);
    store = "partitioned".equals(storeKind) ? new PartitionedLimitStore(member, WallClock.SYSTEM)
        : new HazelcastLimitStore(member, PER_KEY_MAP);
    algorithm = LimitAlgorithm.of(LimitAlgorithm.Kind.FIXED_WINDOW, 1_000_000, 1_000_000_000L, 0);
    ZipfSampler zipf = new ZipfSampler(KEYS, 1.1);
    SplittableRandom random = new SplittableRandom(7);
    keys = new String[MASK + 1];
    for (int k = 0; k < keys.length; k++) {
      keys[k] = "loadtest|k=" + zipf.next(random) + "|0";
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (store instanceof PartitionedLimitStore b) {
      b.close();
    }
    member.getLifecycleService().terminate();
  }

  /** Per-thread position in the key order. */
  @State(Scope.Thread)
  public static class Cursor {
    int i = (int) Thread.currentThread().getId() * 7919;
  }

  @Benchmark
  @Threads(4)
  public Decision acquire(Cursor cursor) {
    return store.acquire(keys[cursor.i++ & MASK], algorithm, 1).toCompletableFuture().join();
  }
}
