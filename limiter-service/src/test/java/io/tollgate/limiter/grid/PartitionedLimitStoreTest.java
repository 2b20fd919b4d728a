package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.TokenBucket;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.LimitStoreContractTest;
import io.tollgate.limiter.store.StoreUnavailableException;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The store contract for the per-key, partition-batching store on two embedded members (calls
 * spread over both, so about half the partitions are remote and every batch and backup crosses
 * the wire), plus batching per partition, synchronous backups, the loss of a member, a member
 * joining, resets and expiry.
 */
class PartitionedLimitStoreTest extends LimitStoreContractTest {

  private final List<HazelcastInstance> members = new ArrayList<>();
  private final List<PartitionedLimitStore> stores = new ArrayList<>();
  private String clusterName;
  private final List<String> addresses = new ArrayList<>();

  @BeforeEach
  void startCluster() {
    clusterName = "partitioned-test-" + UUID.randomUUID();
    for (int i = 0; i < 3; i++) {
      addresses.add("127.0.0.1:" + FreePorts.next());
    }
    start(0);
    start(1);
    awaitMembers(2);
  }

  private HazelcastInstance start(int i) {
    int port = Integer.parseInt(addresses.get(i).substring(addresses.get(i).indexOf(':') + 1));
    Config config = GridMember.config(clusterName, "127.0.0.1", port, addresses, clock);
    HazelcastInstance member = GridMember.start(config);
    members.add(member);
    stores.add(new PartitionedLimitStore(member, clock));
    return member;
  }

  private void awaitMembers(int n) {
    Awaits.await(n + " members", Duration.ofSeconds(30),
        () -> members.stream().filter(m -> m.getLifecycleService().isRunning())
            .allMatch(m -> m.getCluster().getMembers().size() == n));
    Awaits.await("cluster safe", Duration.ofSeconds(30),
        () -> members.get(0).getPartitionService().isClusterSafe());
  }

  @AfterEach
  void stopCluster() {
    stores.forEach(PartitionedLimitStore::close);
    for (HazelcastInstance m : members) {
      if (m.getLifecycleService().isRunning()) {
        m.getLifecycleService().terminate();
      }
    }
  }

  @Override
  protected List<LimitStore> stores() {
    return List.of(stores.get(0), stores.get(1));
  }

  private static Decision get(java.util.concurrent.CompletionStage<Decision> f) throws Exception {
    return f.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static boolean done(java.util.concurrent.CompletionStage<Boolean> f) throws Exception {
    return f.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void callsWaitingForAPartitionGoTogether() throws Exception {
    PartitionedLimitStore store = stores.get(0);
    LimitAlgorithm limit = new FixedWindow(1_000, MINUTE);
    long before = store.batchesSent();
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    // 4,000 calls on 400 keys, none waited for: far more calls than grid operations.
    for (int i = 0; i < 4_000; i++) {
      answers.add(store.acquire("batch-" + (i % 400), limit, 1).toCompletableFuture());
    }
    for (CompletableFuture<Decision> a : answers) {
      assertTrue(get(a).allowed());
    }
    long sent = store.batchesSent() - before;
    System.out.println("4,000 calls on 400 keys: " + sent + " grid operations");
    assertTrue(sent < 4_000 / 4, "grid operations for 4,000 calls: " + sent);
    for (int k = 0; k < 400; k++) {
      assertEquals(990, get(store.acquire("batch-" + k, limit, 0)).remaining(), "key batch-" + k);
    }
  }

  @Test
  void keysSpreadOverThePartitionsOfBothMembers() throws Exception {
    PartitionedLimitStore store = stores.get(0);
    LimitAlgorithm limit = new FixedWindow(10, MINUTE);
    Set<Integer> partitions = new HashSet<>();
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    for (int k = 0; k < 2_000; k++) {
      partitions.add(store.partitionOf("spread-" + k));
      answers.add(store.acquire("spread-" + k, limit, 1).toCompletableFuture());
    }
    for (CompletableFuture<Decision> a : answers) {
      assertTrue(get(a).allowed());
    }
    int partitionCount = members.get(0).getPartitionService().getPartitions().size();
    assertTrue(partitions.size() > partitionCount * 9 / 10,
        "2,000 keys on " + partitions.size() + " of " + partitionCount + " partitions");
    long first = stores.get(0).localOwnedEntries();
    long second = stores.get(1).localOwnedEntries();
    assertEquals(2_000, first + second);
    assertTrue(first > 600 && second > 600, "owned: " + first + " and " + second);
  }

  @Test
  void anAnsweredBatchIsAlreadyOnTheBackup() throws Exception {
    LimitAlgorithm limit = new FixedWindow(10, MINUTE);
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    for (int k = 0; k < 1_000; k++) {
      answers.add(stores.get(k % 2).acquire("sync-" + k, limit, 1).toCompletableFuture());
    }
    for (CompletableFuture<Decision> a : answers) {
      assertTrue(get(a).allowed());
    }
    // No waiting: a synchronous backup has acknowledged before the answer was given.
    long backups = stores.get(0).localBackupEntries() + stores.get(1).localBackupEntries();
    assertEquals(1_000, backups, "backup entries right after the answers");
  }

  @Test
  void oneHotKeyFromBothMembersIsExact() throws Exception {
    LimitAlgorithm limit = new TokenBucket(300, 1_000 * MINUTE, 300);
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      answers.add(stores.get(i % 2).acquire("hot", limit, 1).toCompletableFuture());
    }
    int allowed = 0;
    for (CompletableFuture<Decision> a : answers) {
      allowed += get(a).allowed() ? 1 : 0;
    }
    assertEquals(300, allowed);
  }

  @Test
  void countsSurviveTheCrashOfAMember() throws Exception {
    LimitAlgorithm limit = new FixedWindow(100, MINUTE);
    PartitionedLimitStore viaFirst = stores.get(0);
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    // 400 keys on most partitions of both members; 7 units each, sent without waiting.
    for (int i = 0; i < 7; i++) {
      for (int k = 0; k < 400; k++) {
        answers.add(viaFirst.acquire("crash-" + k, limit, 1).toCompletableFuture());
      }
    }
    for (CompletableFuture<Decision> a : answers) {
      assertTrue(get(a).allowed());
    }
    members.get(1).getLifecycleService().terminate();
    Awaits.await("one member left", Duration.ofSeconds(30),
        () -> members.get(0).getCluster().getMembers().size() == 1);
    for (int k = 0; k < 400; k++) {
      assertEquals(93, get(viaFirst.acquire("crash-" + k, limit, 0)).remaining(),
          "key crash-" + k);
    }
  }

  @Test
  void countsMoveWithTheirPartitionsWhenAMemberJoins() throws Exception {
    LimitAlgorithm limit = new FixedWindow(100, MINUTE);
    for (int k = 0; k < 400; k++) {
      assertTrue(get(stores.get(0).acquire("join-" + k, limit, 5)).allowed());
    }
    start(2);
    awaitMembers(3);
    assertTrue(stores.get(2).localOwnedEntries() > 0, "the new member owns some keys");
    for (int k = 0; k < 400; k++) {
      assertEquals(95, get(stores.get(2).acquire("join-" + k, limit, 0)).remaining(),
          "key join-" + k);
    }
  }

  @Test
  void callsInFlightWhenTheirOwnerCrashesAreAnsweredByTheNewOwner() throws Exception {
    LimitAlgorithm limit = new FixedWindow(1_000_000, MINUTE);
    PartitionedLimitStore viaFirst = stores.get(0);
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    for (int i = 0; i < 4_000; i++) {
      answers.add(viaFirst.acquire("inflight-" + (i % 200), limit, 1).toCompletableFuture());
    }
    members.get(1).getLifecycleService().terminate();
    for (CompletableFuture<Decision> a : answers) {
      assertTrue(get(a).allowed());
    }
    long taken = 0;
    for (int k = 0; k < 200; k++) {
      taken += 1_000_000 - get(viaFirst.acquire("inflight-" + k, limit, 0)).remaining();
    }
    // A batch that ran on the crashed owner and reached its backup may run again: never fewer.
    assertTrue(taken >= 4_000, "units counted: " + taken);
  }

  @Test
  void anAcquireWhoseCallerHasNoTimeLeftIsDroppedNotApplied() throws Exception {
    LimitAlgorithm limit = new FixedWindow(5, MINUTE);
    PartitionedLimitStore late = new PartitionedLimitStore(members.get(0), clock, () -> 0L);
    try {
      CompletableFuture<Decision> dropped = late.acquire("late", limit, 3).toCompletableFuture();
      ExecutionException e = assertThrows(ExecutionException.class, () -> get(dropped));
      assertTrue(e.getCause() instanceof StoreUnavailableException,
          String.valueOf(e.getCause()));
      assertEquals(1, late.expired());
    } finally {
      late.close();
    }
    assertEquals(5, get(stores.get(1).acquire("late", limit, 0)).remaining(),
        "the dropped acquire took nothing");
  }

  @Test
  void resetGivesTheNextAcquireAFreshLimitOnEveryMember() throws Exception {
    LimitAlgorithm limit = new FixedWindow(3, MINUTE);
    assertTrue(get(stores.get(0).acquire("reset-me", limit, 3)).allowed());
    assertFalse(get(stores.get(1).acquire("reset-me", limit, 1)).allowed());
    assertTrue(done(stores.get(1).reset("reset-me")), "a state was removed");
    assertEquals(3, get(stores.get(0).acquire("reset-me", limit, 0)).remaining());
    assertFalse(done(stores.get(0).reset("reset-me")), "nothing left to remove");
    assertFalse(done(stores.get(0).reset("never-used")));
    assertEquals(0, stores.get(0).localBackupEntries() + stores.get(1).localBackupEntries(),
        "the reset removed the backup too");
  }

  @Test
  void aResetQueuedBetweenAcquiresOfOneBatchAppliesInOrder() throws Exception {
    LimitAlgorithm limit = new FixedWindow(2, MINUTE);
    PartitionedLimitStore store = stores.get(0);
    // Sent without waiting, so they queue on one lane and mostly go as one batch.
    CompletableFuture<Decision> a = store.acquire("ordered", limit, 2).toCompletableFuture();
    CompletableFuture<Boolean> r = store.reset("ordered").toCompletableFuture();
    CompletableFuture<Decision> b = store.acquire("ordered", limit, 2).toCompletableFuture();
    CompletableFuture<Decision> c = store.acquire("ordered", limit, 1).toCompletableFuture();
    assertTrue(get(a).allowed());
    assertTrue(r.get(20, TimeUnit.SECONDS));
    assertTrue(get(b).allowed(), "the reset came before");
    assertFalse(get(c).allowed(), "the limit of 2 was taken again after the reset");
  }

  @Test
  void idleStatesExpireFromOwnerAndBackup() throws Exception {
    // A one-millisecond window: each state is worthless a second after it was written, so
    // Hazelcast's own expiry removes it from both replicas without any sweep of ours.
    LimitAlgorithm limit = new FixedWindow(3, 1_000_000L);
    for (int k = 0; k < 100; k++) {
      assertTrue(get(stores.get(0).acquire("expiry-" + k, limit, 3)).allowed());
    }
    assertEquals(100, ownedEverywhere());
    assertEquals(100, backupsEverywhere());
    long start = System.nanoTime();
    Awaits.await("states expired on owners and backups", Duration.ofSeconds(60),
        () -> ownedEverywhere() == 0 && backupsEverywhere() == 0);
    System.out.println("100 idle states gone from owners and backups after "
        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
  }

  private long ownedEverywhere() {
    return stores.stream().mapToLong(PartitionedLimitStore::localOwnedEntries).sum();
  }

  private long backupsEverywhere() {
    return stores.stream().mapToLong(PartitionedLimitStore::localBackupEntries).sum();
  }
}
