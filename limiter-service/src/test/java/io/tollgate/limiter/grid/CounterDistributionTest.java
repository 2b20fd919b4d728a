package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.internal.serialization.SerializationService;
import com.hazelcast.map.IMap;
import com.hazelcast.partition.Partition;
import com.hazelcast.partition.PartitionService;
import com.hazelcast.spi.impl.SerializationServiceSupport;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.SlidingWindow;
import io.tollgate.limiter.algorithm.TokenBucket;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How the per-key counters spread over a cluster of three members: the partition of each of
 * 1,000,000 storage keys and the owner of each partition, read from the members' partition
 * service, and the size of the largest entry the store writes.
 *
 * <p>The members run in this JVM. That gives the same answer as members in separate processes:
 * a key's partition is a hash of its serialized bytes modulo the partition count, the same in
 * every JVM, and the partition table is computed by the master from the member list alone. To
 * show the store really places keys that way, a sample of keys is written through the store and
 * each member's count of owned entries is compared with the count the table predicts.
 */
class CounterDistributionTest {

  private static final int KEYS = 1_000_000;
  private static final int SAMPLE = 20_000;
  private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

  private final FakeClock clock = new FakeClock();
  private final List<HazelcastInstance> members = new ArrayList<>();
  private final List<PartitionedLimitStore> stores = new ArrayList<>();

  @BeforeEach
  void start() {
    String cluster = "distribution-" + UUID.randomUUID();
    List<String> addresses = List.of("127.0.0.1:" + FreePorts.next(),
        "127.0.0.1:" + FreePorts.next(), "127.0.0.1:" + FreePorts.next());
    for (String a : addresses) {
      int port = Integer.parseInt(a.substring(a.indexOf(':') + 1));
      HazelcastInstance m = GridMember.start(GridMember.config(cluster, "127.0.0.1", port,
          addresses, clock));
      members.add(m);
      stores.add(new PartitionedLimitStore(m, clock));
    }
    Awaits.await("3 members, cluster safe", Duration.ofSeconds(60),
        () -> members.stream().allMatch(m -> m.getCluster().getMembers().size() == 3)
            && members.get(0).getPartitionService().isClusterSafe());
  }

  @AfterEach
  void stop() {
    stores.forEach(PartitionedLimitStore::close);
    members.forEach(m -> m.getLifecycleService().terminate());
  }

  /** A storage key shaped as LimitKeys builds them: domain, entries, rule tag. */
  private static String key(int i) {
    String user = "user-" + i;
    return "3:api4:user" + user.length() + ":" + user + "#0";
  }

  @Test
  void aMillionKeysSpreadOverEveryPartitionAndMember() throws Exception {
    PartitionService partitions = members.get(0).getPartitionService();
    int partitionCount = partitions.getPartitions().size();
    Map<Integer, Member> owners = new HashMap<>();
    for (Partition p : partitions.getPartitions()) {
      owners.put(p.getPartitionId(), p.getOwner());
    }
    int[] perPartition = new int[partitionCount];
    Map<Member, Integer> perMember = new HashMap<>();
    for (int i = 0; i < KEYS; i++) {
      int p = partitions.getPartition(key(i)).getPartitionId();
      perPartition[p]++;
      perMember.merge(owners.get(p), 1, Integer::sum);
    }
    double mean = (double) KEYS / partitionCount;
    int max = 0;
    int min = Integer.MAX_VALUE;
    for (int n : perPartition) {
      max = Math.max(max, n);
      min = Math.min(min, n);
    }
    double share = KEYS / 3.0;
    int maxMember = perMember.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
    System.out.printf("%,d keys on %d partitions: mean %.0f, max %d (%.2fx mean), min %d%n",
        KEYS, partitionCount, mean, max, max / mean, min);
    System.out.printf("per member: %s; max %,d = %.3fx its share of %,.0f%n",
        perMember.values(), maxMember, maxMember / share, share);
    assertTrue(max < 3 * mean, "a partition holds " + max + " keys, mean " + mean);
    assertTrue(maxMember < 1.5 * share, "a member owns " + maxMember + " keys");
    assertEquals(3, perMember.size(), "every member owns keys");

    // The store places keys exactly as the table says.
    Map<Member, Integer> predicted = new HashMap<>();
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    LimitAlgorithm limit = new FixedWindow(10, MINUTE);
    for (int i = 0; i < SAMPLE; i++) {
      predicted.merge(owners.get(partitions.getPartition(key(i)).getPartitionId()), 1,
          Integer::sum);
      answers.add(stores.get(i % 3).acquire(key(i), limit, 1).toCompletableFuture());
    }
    for (CompletableFuture<Decision> a : answers) {
      assertTrue(a.get(30, TimeUnit.SECONDS).allowed());
    }
    for (int m = 0; m < 3; m++) {
      Member local = members.get(m).getCluster().getLocalMember();
      assertEquals((long) predicted.get(local), stores.get(m).localOwnedEntries(),
          "entries owned by member " + m);
    }
  }

  @Test
  void theLargestEntryIsTinyWhateverTheNumberOfKeys() throws Exception {
    PartitionedLimitStore store = stores.get(0);
    // The largest state is the sliding window's ring of slot counts; the other algorithms
    // store two longs. Fill a ring with large counts so no varint or small-value path helps.
    List<LimitAlgorithm> algorithms = List.of(new FixedWindow(Long.MAX_VALUE / 4, MINUTE),
        new TokenBucket(1_000_000, MINUTE, 1_000_000),
        new SlidingWindow(Long.MAX_VALUE / 4, MINUTE));
    IMap<String, LimitState> map = members.get(0).getMap(PartitionedLimitStore.COUNTERS_MAP);
    SerializationService ss =
        ((SerializationServiceSupport) members.get(0)).getSerializationService();
    int largestBytes = 0;
    for (LimitAlgorithm a : algorithms) {
      String key = "size-" + a.kind();
      for (int slot = 0; slot <= SlidingWindow.SLOTS; slot++) {
        long permits = a instanceof TokenBucket ? 1 : 1L << 40;
        assertTrue(store.acquire(key, a, permits).toCompletableFuture().get(30,
            TimeUnit.SECONDS).allowed());
        clock.advance(MINUTE / SlidingWindow.SLOTS, TimeUnit.NANOSECONDS);
      }
      // What a migration or a backup copy moves for the entry: its key and value as bytes.
      // (Hazelcast reports no memory cost for the OBJECT format.)
      int bytes = ss.toData(map.get(key)).totalSize() + ss.toData(key).totalSize();
      System.out.printf("%s: entry %d bytes serialized%n", a.kind(), bytes);
      largestBytes = Math.max(largestBytes, bytes);
    }
    assertTrue(largestBytes < 64 * 1024, "largest entry serialized: " + largestBytes);
  }
}
