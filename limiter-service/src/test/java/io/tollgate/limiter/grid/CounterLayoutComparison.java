package io.tollgate.limiter.grid;

import com.hazelcast.core.HazelcastInstance;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A side-by-side run of the bucketed store (8 entries) and the per-key partitioned store on the
 * same two embedded members, rounds interleaved (A B B A ...), reporting the median throughput
 * and latency of each. A measurement, not a check: it asserts nothing about speed and runs only
 * when asked ({@code -Dtollgate.compare=true -Dtest=CounterLayoutComparison}).
 *
 * <p>Each round sends a fixed number of acquires on 10,000 keys from this JVM, with a fixed
 * number in flight (a closed loop), to one member; half the partitions are on the other member,
 * so half the batches and every backup cross the loopback.
 */
@EnabledIfSystemProperty(named = "tollgate.compare", matches = "true")
class CounterLayoutComparison {

  private static final int KEYS = 10_000;
  private static final int ROUNDS = 7;
  private static final int CALLS_PER_ROUND = 30_000;
  private static final long ROUND_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(60);

  /** Throughput and latency of one round. */
  private record Round(double callsPerSecond, long p50Micros, long p99Micros) {}

  @Test
  void compareBucketedAndPartitioned() throws Exception {
    String cluster = "compare-" + UUID.randomUUID();
    List<String> addresses = List.of("127.0.0.1:" + FreePorts.next(),
        "127.0.0.1:" + FreePorts.next());
    List<HazelcastInstance> members = new ArrayList<>();
    for (String a : addresses) {
      int port = Integer.parseInt(a.substring(a.indexOf(':') + 1));
      members.add(GridMember.start(GridMember.config(cluster, "127.0.0.1", port, addresses,
          WallClock.SYSTEM)));
    }
    try {
      Awaits.await("2 members, cluster safe", Duration.ofSeconds(60),
          () -> members.get(0).getCluster().getMembers().size() == 2
              && members.get(0).getPartitionService().isClusterSafe());
      BucketedLimitStore bucketed = new BucketedLimitStore(members.get(0), WallClock.SYSTEM);
      PartitionedLimitStore partitioned = new PartitionedLimitStore(members.get(0),
          WallClock.SYSTEM);
      LimitAlgorithm limit = new FixedWindow(1_000_000_000L, TimeUnit.HOURS.toNanos(1));
      String[] keys = new String[KEYS];
      for (int k = 0; k < KEYS; k++) {
        keys[k] = "compare|user=" + k + "|0";
      }
      for (int inFlight : new int[] {1, 64}) {
        // Warm both up: class loading, JIT, entries created.
        run(bucketed, keys, limit, inFlight, 7);
        run(partitioned, keys, limit, inFlight, 7);
        List<Round> a = new ArrayList<>();
        List<Round> b = new ArrayList<>();
        for (int r = 0; r < ROUNDS; r++) {
          boolean bucketedFirst = r % 2 == 0;
          long seed = 100 + r;
          if (bucketedFirst) {
            a.add(run(bucketed, keys, limit, inFlight, seed));
            b.add(run(partitioned, keys, limit, inFlight, seed));
          } else {
            b.add(run(partitioned, keys, limit, inFlight, seed));
            a.add(run(bucketed, keys, limit, inFlight, seed));
          }
        }
        System.out.println(summary("bucketed   ", inFlight, a));
        System.out.println(summary("partitioned", inFlight, b));
      }
      System.out.printf("grid operations per call: bucketed %.3f, partitioned %.3f%n",
          (double) bucketed.batchesSent() / bucketed.callsSent(),
          (double) partitioned.batchesSent() / partitioned.callsSent());
      bucketed.close();
      partitioned.close();
    } finally {
      members.forEach(m -> m.getLifecycleService().terminate());
    }
  }

  private static String summary(String name, int inFlight, List<Round> rounds) {
    double[] rate = rounds.stream().mapToDouble(Round::callsPerSecond).sorted().toArray();
    long[] p50 = rounds.stream().mapToLong(Round::p50Micros).sorted().toArray();
    long[] p99 = rounds.stream().mapToLong(Round::p99Micros).sorted().toArray();
    return String.format("%s in flight %3d: median %,.0f calls/s (min %,.0f max %,.0f), "
        + "median p50 %d us, median p99 %d us; rounds %s", name, inFlight, rate[rate.length / 2],
        rate[0], rate[rate.length - 1], p50[p50.length / 2], p99[p99.length / 2],
        Arrays.toString(Arrays.stream(rate).mapToLong(Math::round).toArray()));
  }

  /** One round: {@link #CALLS_PER_ROUND} acquires on random keys, {@code inFlight} at a time. */
  private static Round run(LimitStore store, String[] keys, LimitAlgorithm limit, int inFlight,
      long seed) throws Exception {
    SplittableRandom random = new SplittableRandom(seed);
    Semaphore slots = new Semaphore(inFlight);
    long[] latencies = new long[CALLS_PER_ROUND];
    AtomicLong failures = new AtomicLong();
    long start = System.nanoTime();
    int sent = 0;
    for (; sent < CALLS_PER_ROUND && System.nanoTime() - start < ROUND_LIMIT_NANOS; sent++) {
      if (!slots.tryAcquire(10, TimeUnit.SECONDS)) {
        throw new AssertionError("no answer within 10 s");
      }
      int i = sent;
      long t0 = System.nanoTime();
      CompletableFuture<Decision> f = store.acquire(keys[random.nextInt(keys.length)], limit, 1)
          .toCompletableFuture();
      f.whenComplete((d, e) -> {
        latencies[i] = System.nanoTime() - t0;
        if (e != null) {
          failures.incrementAndGet();
        }
        slots.release();
      });
    }
    if (!slots.tryAcquire(inFlight, 30, TimeUnit.SECONDS)) {
      throw new AssertionError("calls still in flight after 30 s");
    }
    long elapsed = System.nanoTime() - start;
    if (failures.get() > 0) {
      throw new AssertionError(failures.get() + " calls failed");
    }
    long[] done = Arrays.copyOf(latencies, sent);
    Arrays.sort(done);
    return new Round(sent * 1e9 / elapsed, done[done.length / 2] / 1_000,
        done[(int) (done.length * 0.99)] / 1_000);
  }
}
