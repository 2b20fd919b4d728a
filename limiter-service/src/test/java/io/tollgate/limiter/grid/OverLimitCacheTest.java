package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.core.HazelcastInstance;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.SlidingWindow;
import io.tollgate.limiter.algorithm.TokenBucket;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.store.OverLimitCache;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The over-limit cache in front of the grid store on an embedded member: a key over its limit
 * costs no grid operation until a unit could be available again, and not a moment longer.
 */
class OverLimitCacheTest {

  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

  private final FakeClock clock = new FakeClock();
  private HazelcastInstance member;
  private PartitionedLimitStore grid;
  private OverLimitCache cache;

  @BeforeEach
  void start() {
    String address = "127.0.0.1:" + FreePorts.next();
    int port = Integer.parseInt(address.substring(address.indexOf(':') + 1));
    member = GridMember.start(GridMember.config("over-limit-" + UUID.randomUUID(), "127.0.0.1",
        port, List.of(), clock));
    grid = new PartitionedLimitStore(member, clock);
    cache = new OverLimitCache(grid, 1_000, clock);
  }

  @AfterEach
  void stop() {
    grid.close();
    member.getLifecycleService().terminate();
  }

  private Decision acquire(String key, LimitAlgorithm limit, long permits) throws Exception {
    return cache.acquire(key, limit, permits).toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void aHotKeyOverItsLimitFrom64ClientsCostsNoGridOperationAfterTheFirstDenial()
      throws Exception {
    LimitAlgorithm limit = new FixedWindow(10, MINUTE);
    for (int i = 0; i < 10; i++) {
      assertTrue(acquire("hot", limit, 1).allowed());
    }
    assertFalse(acquire("hot", limit, 1).allowed(), "the first denial, from the grid");
    long before = grid.batchesSent();

    int clients = 64;
    int callsEach = 50;
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    CountDownLatch go = new CountDownLatch(1);
    AtomicLong allowed = new AtomicLong();
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      done.add(CompletableFuture.runAsync(() -> {
        try {
          go.await();
          for (int i = 0; i < callsEach; i++) {
            if (acquire("hot", limit, 1).allowed()) {
              allowed.incrementAndGet();
            }
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, pool));
    }
    go.countDown();
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    pool.shutdown();

    assertEquals(0, allowed.get());
    assertEquals(before, grid.batchesSent(), "grid operations after the first denial");
    assertEquals(clients * callsEach, cache.hits());

    clock.advance(1, TimeUnit.MINUTES);
    assertTrue(acquire("hot", limit, 1).allowed(), "a new window: the grid decides again");
    assertEquals(before + 1, grid.batchesSent());
  }

  @Test
  void aTokenBucketDenialIsCachedOnlyUntilTheNextTokenCouldExist() throws Exception {
    // 10 tokens a second, so one every 100 ms; burst 2.
    LimitAlgorithm limit = new TokenBucket(10, SECOND, 2);
    assertTrue(acquire("bucket", limit, 1).allowed());
    assertTrue(acquire("bucket", limit, 1).allowed());
    Decision denied = acquire("bucket", limit, 1);
    assertFalse(denied.allowed());
    long sent = grid.batchesSent();
    clock.advance(denied.resetAfterNanos() - 1, TimeUnit.NANOSECONDS);
    assertFalse(acquire("bucket", limit, 1).allowed());
    assertEquals(sent, grid.batchesSent(), "still certain: answered on the member");
    clock.advance(1, TimeUnit.NANOSECONDS);
    assertTrue(acquire("bucket", limit, 1).allowed(), "the next token exists");
    assertEquals(sent + 1, grid.batchesSent());
  }

  @Test
  void aDenialThatLeavesUnitsOrAsksForSeveralIsNotCached() throws Exception {
    LimitAlgorithm window = new FixedWindow(5, MINUTE);
    assertTrue(acquire("partial", window, 3).allowed());
    assertFalse(acquire("partial", window, 3).allowed(), "2 units left, 3 asked");
    assertTrue(acquire("partial", window, 2).allowed(), "the 2 units are still there");

    LimitAlgorithm sliding = new SlidingWindow(4, MINUTE);
    assertTrue(acquire("several", sliding, 3).allowed());
    long sent = grid.batchesSent();
    assertFalse(acquire("several", sliding, 2).allowed());
    assertFalse(acquire("several", sliding, 2).allowed());
    assertEquals(sent + 2, grid.batchesSent(), "one unit is left: nothing to cache");
  }

  @Test
  void aRefundThroughTheCacheDropsTheKey() throws Exception {
    LimitAlgorithm limit = new FixedWindow(2, MINUTE);
    Decision first = acquire("refund", limit, 1);
    assertTrue(acquire("refund", limit, 1).allowed());
    assertFalse(acquire("refund", limit, 1).allowed());
    assertTrue(cache.refund("refund", limit, first).toCompletableFuture()
        .get(20, TimeUnit.SECONDS));
    assertTrue(acquire("refund", limit, 1).allowed(), "the refunded unit");
  }
}
