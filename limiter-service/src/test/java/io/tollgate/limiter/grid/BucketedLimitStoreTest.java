package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The store contract for the bucketed, batching store on two embedded members (calls spread over
 * both, so half the buckets are remote and every batch and backup crosses the wire), plus
 * batching, the loss of a member, a member joining, and expiry.
 */
class BucketedLimitStoreTest extends LimitStoreContractTest {

  private final List<HazelcastInstance> members = new ArrayList<>();
  private final List<BucketedLimitStore> stores = new ArrayList<>();
  private String clusterName;
  private final List<String> addresses = new ArrayList<>();

  @BeforeEach
  void startCluster() {
    clusterName = "bucket-test-" + UUID.randomUUID();
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
    stores.add(new BucketedLimitStore(member, clock));
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
    stores.forEach(BucketedLimitStore::close);
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

  private static Decision get(CompletableFuture<Decision> f) throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  @Test
  void callsWaitingForABucketGoTogether() throws Exception {
    BucketedLimitStore store = stores.get(0);
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
    assertTrue(sent < 4_000 / 4, "grid operations for 4,000 calls: " + sent);
    for (int k = 0; k < 400; k++) {
      assertEquals(990, get(store.acquire("batch-" + k, limit, 0).toCompletableFuture())
          .remaining(), "key batch-" + k);
    }
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
    BucketedLimitStore viaFirst = stores.get(0);
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    // 80 keys reach every bucket on both members; 7 units each, sent without waiting.
    for (int i = 0; i < 7; i++) {
      for (int k = 0; k < 80; k++) {
        answers.add(viaFirst.acquire("crash-" + k, limit, 1).toCompletableFuture());
      }
    }
    for (CompletableFuture<Decision> a : answers) {
      assertTrue(get(a).allowed());
    }
    members.get(1).getLifecycleService().terminate();
    Awaits.await("one member left", Duration.ofSeconds(30),
        () -> members.get(0).getCluster().getMembers().size() == 1);
    for (int k = 0; k < 80; k++) {
      assertEquals(93, get(viaFirst.acquire("crash-" + k, limit, 0).toCompletableFuture())
          .remaining(), "key crash-" + k);
    }
  }

  @Test
  void countsMoveWithBucketsWhenAMemberJoins() throws Exception {
    LimitAlgorithm limit = new FixedWindow(100, MINUTE);
    for (int k = 0; k < 80; k++) {
      assertTrue(get(stores.get(0).acquire("join-" + k, limit, 5).toCompletableFuture())
          .allowed());
    }
    start(2);
    awaitMembers(3);
    for (int k = 0; k < 80; k++) {
      assertEquals(95, get(stores.get(2).acquire("join-" + k, limit, 0).toCompletableFuture())
          .remaining(), "key join-" + k);
    }
  }

  @Test
  void expiredStatesReadAsAbsentAndAreSwept() throws Exception {
    LimitAlgorithm limit = new FixedWindow(3, MINUTE);
    for (int k = 0; k < 100; k++) {
      assertTrue(get(stores.get(0).acquire("expiry-" + k, limit, 3).toCompletableFuture())
          .allowed());
    }
    sweepEverywhere();
    Awaits.await("100 states counted", Duration.ofSeconds(20), () -> ownedEverywhere() == 100
        && backupsEverywhere() == 100);
    // Past the window and the second of grace: the states are worthless.
    clock.advance(2, TimeUnit.MINUTES);
    assertEquals(3, get(stores.get(1).acquire("expiry-7", limit, 0).toCompletableFuture())
        .remaining());
    sweepEverywhere();
    Awaits.await("states swept on owners and backups", Duration.ofSeconds(20),
        () -> ownedEverywhere() == 0 && backupsEverywhere() == 0);
  }

  @Test
  void callsInFlightWhenTheirOwnerCrashesAreAnsweredByTheNewOwner() throws Exception {
    LimitAlgorithm limit = new FixedWindow(1_000_000, MINUTE);
    BucketedLimitStore viaFirst = stores.get(0);
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    for (int i = 0; i < 4_000; i++) {
      answers.add(viaFirst.acquire("inflight-" + (i % 200), limit, 1).toCompletableFuture());
    }
    members.get(1).getLifecycleService().terminate();
    for (CompletableFuture<Decision> a : answers) {
      assertTrue(get(a).allowed());
    }
    long[] taken = new long[1];
    for (int k = 0; k < 200; k++) {
      taken[0] += 1_000_000 - get(viaFirst.acquire("inflight-" + k, limit, 0)
          .toCompletableFuture()).remaining();
    }
    // A batch that ran on the crashed owner and reached its backup may run again: never fewer.
    assertTrue(taken[0] >= 4_000, "units counted: " + taken[0]);
  }

  @Test
  void anAcquireWhoseCallerHasNoTimeLeftIsDroppedNotApplied() throws Exception {
    LimitAlgorithm limit = new FixedWindow(5, MINUTE);
    BucketedLimitStore late = new BucketedLimitStore(members.get(0), clock, () -> 0L);
    try {
      CompletableFuture<Decision> dropped = late.acquire("late", limit, 3).toCompletableFuture();
      java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
          java.util.concurrent.ExecutionException.class, () -> get(dropped));
      assertTrue(e.getCause() instanceof io.tollgate.limiter.store.StoreUnavailableException,
          String.valueOf(e.getCause()));
      assertEquals(1, late.expired());
    } finally {
      late.close();
    }
    assertEquals(5, get(stores.get(1).acquire("late", limit, 0).toCompletableFuture())
        .remaining(), "the dropped acquire took nothing");
  }

  private void sweepEverywhere() {
    stores.forEach(BucketedLimitStore::sweepOwned);
  }

  private long ownedEverywhere() {
    return stores.stream().mapToLong(BucketedLimitStore::localOwnedEntries).sum();
  }

  private long backupsEverywhere() {
    return stores.stream().mapToLong(BucketedLimitStore::localBackupEntries).sum();
  }
}
