package io.tollgate.limiter.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.SlidingWindow;
import io.tollgate.limiter.algorithm.TokenBucket;
import io.tollgate.limiter.testing.FakeClock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * What every {@link LimitStore} must do. Subclasses supply the store, reading {@link #clock}.
 */
public abstract class LimitStoreContractTest {

  protected static final long SECOND = 1_000_000_000L;
  protected static final long MINUTE = 60 * SECOND;

  protected final FakeClock clock = new FakeClock();

  /** The store under test; {@code stores()} may return several views of one shared state. */
  protected abstract List<LimitStore> stores();

  private LimitStore store() {
    return stores().get(0);
  }

  private static Decision get(java.util.concurrent.CompletionStage<Decision> stage)
      throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void acquiresUpToTheLimitThenDenies() throws Exception {
    LimitAlgorithm limit = new FixedWindow(2, MINUTE);
    assertTrue(get(store().acquire("a", limit, 1)).allowed());
    assertEquals(0, get(store().acquire("a", limit, 1)).remaining());
    Decision denied = get(store().acquire("a", limit, 1));
    assertFalse(denied.allowed());
    assertEquals(0, denied.remaining());
  }

  @Test
  void keysAreIndependent() throws Exception {
    LimitAlgorithm limit = new FixedWindow(1, MINUTE);
    assertTrue(get(store().acquire("k1", limit, 1)).allowed());
    assertTrue(get(store().acquire("k2", limit, 1)).allowed());
  }

  @Test
  void usesTheStoreClock() throws Exception {
    LimitAlgorithm limit = new FixedWindow(1, MINUTE);
    assertTrue(get(store().acquire("clock", limit, 1)).allowed());
    assertFalse(get(store().acquire("clock", limit, 1)).allowed());
    clock.advance(1, TimeUnit.MINUTES);
    assertTrue(get(store().acquire("clock", limit, 1)).allowed());
  }

  @Test
  void refundGivesUnitsBack() throws Exception {
    LimitAlgorithm limit = new FixedWindow(3, MINUTE);
    Decision d = get(store().acquire("refund", limit, 2));
    assertTrue(store().refund("refund", limit, d).toCompletableFuture().get());
    assertEquals(3, get(store().acquire("refund", limit, 0)).remaining());
  }

  @Test
  void resetGivesEveryAlgorithmAFullLimitAgain() throws Exception {
    List<LimitAlgorithm> limits = List.of(new FixedWindow(3, MINUTE),
        new TokenBucket(3, MINUTE, 3), new SlidingWindow(3, MINUTE));
    for (int a = 0; a < limits.size(); a++) {
      LimitAlgorithm limit = limits.get(a);
      String key = "reset-" + a;
      for (int i = 0; i < 3; i++) {
        assertTrue(get(store().acquire(key, limit, 1)).allowed());
      }
      // Denied once, so a store that remembers denials has this one.
      assertFalse(get(store().acquire(key, limit, 1)).allowed());
      assertFalse(get(store().acquire(key, limit, 1)).allowed());
      LimitStore other = stores().get(stores().size() - 1);
      other.reset(key).toCompletableFuture().get(10, TimeUnit.SECONDS);
      for (LimitStore s : List.of(store(), other)) {
        assertEquals(3, get(s.acquire(key, limit, 0)).remaining(), limit + " via " + s);
      }
      for (int i = 0; i < 3; i++) {
        assertTrue(get(store().acquire(key, limit, 1)).allowed(), limit + ", unit " + i);
      }
      assertFalse(get(store().acquire(key, limit, 1)).allowed());
    }
  }

  @Test
  void resetTouchesOnlyItsKeyAndAMissingKeyIsFine() throws Exception {
    LimitAlgorithm limit = new FixedWindow(2, MINUTE);
    get(store().acquire("kept", limit, 1));
    get(store().acquire("cleared", limit, 2));
    store().reset("cleared").toCompletableFuture().get(10, TimeUnit.SECONDS);
    store().reset("never-used").toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(1, get(store().acquire("kept", limit, 0)).remaining());
    assertEquals(2, get(store().acquire("cleared", limit, 0)).remaining());
    assertEquals(2, get(store().acquire("never-used", limit, 0)).remaining());
  }

  @Test
  void refundOfAMissingKeyChangesNothing() throws Exception {
    LimitAlgorithm limit = new FixedWindow(3, MINUTE);
    Decision d = new Decision(true, 1, 3, 2, MINUTE, 0);
    assertFalse(store().refund("never-used", limit, d).toCompletableFuture().get());
  }

  @Test
  void everyAlgorithmRunsInTheStore() throws Exception {
    for (LimitAlgorithm limit : List.of(new FixedWindow(4, MINUTE), new SlidingWindow(4, MINUTE),
        new TokenBucket(4, MINUTE, 4))) {
      String key = "algo-" + limit.kind();
      assertTrue(get(store().acquire(key, limit, 3)).allowed(), limit.kind().toString());
      assertFalse(get(store().acquire(key, limit, 2)).allowed(), limit.kind().toString());
      assertEquals(0, get(store().acquire(key, limit, 1)).remaining(), limit.kind().toString());
    }
  }

  /**
   * Many callers at once, spread over every view of the store, admit exactly the limit: no lost
   * update, no over-admission.
   */
  @Test
  void concurrentCallersAdmitExactlyTheLimit() throws Exception {
    for (LimitAlgorithm limit : List.of(new FixedWindow(500, MINUTE),
        new SlidingWindow(500, MINUTE), new TokenBucket(500, 1_000 * MINUTE, 500))) {
      String key = "race-" + limit.kind();
      int threads = 8;
      int callsPerThread = 200;
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      CountDownLatch start = new CountDownLatch(1);
      AtomicLong allowed = new AtomicLong();
      List<CompletableFuture<Void>> done = new ArrayList<>();
      List<LimitStore> views = stores();
      for (int t = 0; t < threads; t++) {
        LimitStore view = views.get(t % views.size());
        done.add(CompletableFuture.runAsync(() -> {
          try {
            start.await();
            List<CompletableFuture<Decision>> mine = new ArrayList<>();
            for (int i = 0; i < callsPerThread; i++) {
              mine.add(view.acquire(key, limit, 1).toCompletableFuture());
            }
            for (CompletableFuture<Decision> f : mine) {
              if (f.get(30, TimeUnit.SECONDS).allowed()) {
                allowed.incrementAndGet();
              }
            }
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, pool));
      }
      start.countDown();
      CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      pool.shutdown();
      assertEquals(500, allowed.get(), limit.kind() + ": 1600 calls against a limit of 500");
    }
  }
}
