package io.tollgate.limiter.cluster;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.internal.util.ConcurrencyUtil;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.grid.HazelcastLimitStore;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Starting a member changes nothing JVM-wide, and grid answers complete on our threads. */
class GridMemberTest {

  private HazelcastInstance member;

  @AfterEach
  void stop() {
    if (member != null) {
      member.getLifecycleService().terminate();
    }
  }

  private HazelcastInstance start() {
    int port = FreePorts.next();
    member = GridMember.start(GridMember.config("member-" + UUID.randomUUID(), "127.0.0.1",
        port, List.of(), new FakeClock()));
    return member;
  }

  @Test
  void startingAMemberLeavesHazelcastsJvmWideExecutorAlone() {
    Executor before = ConcurrencyUtil.getDefaultAsyncExecutor();
    start();
    assertSame(before, ConcurrencyUtil.getDefaultAsyncExecutor());
  }

  @Test
  void answersCompleteOnTheGridCallbackThreadsNotHazelcastsDefaultExecutor() throws Exception {
    HazelcastLimitStore store = new HazelcastLimitStore(start(), "callbacks-test");
    for (int i = 0; i < 20; i++) {
      String thread = store.acquire("k" + i, new FixedWindow(5, TimeUnit.MINUTES.toNanos(1)), 1)
          .thenApply(d -> Thread.currentThread().getName())
          .toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertTrue(thread.startsWith("tollgate-grid-callback")
          || thread.equals(Thread.currentThread().getName()), thread);
      assertFalse(thread.startsWith("ForkJoinPool"), thread);
    }
  }
}
