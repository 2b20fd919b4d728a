package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.LimitStoreContractTest;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The store contract on two embedded members of one cluster (TCP/IP on 127.0.0.1, no multicast),
 * with calls spread over both, plus the loss of a member.
 */
class HazelcastLimitStoreTest extends LimitStoreContractTest {

  /** A map of limit states with Hazelcast's defaults (one synchronous backup). */
  private static final String MAP = "test-limit-states";

  private HazelcastInstance first;
  private HazelcastInstance second;

  @BeforeEach
  void startCluster() {
    String name = "store-test-" + UUID.randomUUID();
    int p1 = FreePorts.next();
    int p2 = FreePorts.next();
    List<String> members = List.of("127.0.0.1:" + p1, "127.0.0.1:" + p2);
    Config c1 = GridMember.config(name, "127.0.0.1", p1, members, clock);
    Config c2 = GridMember.config(name, "127.0.0.1", p2, members, clock);
    first = GridMember.start(c1);
    second = GridMember.start(c2);
    Awaits.await("two members", Duration.ofSeconds(30),
        () -> first.getCluster().getMembers().size() == 2
            && second.getCluster().getMembers().size() == 2);
    Awaits.await("cluster safe", Duration.ofSeconds(30),
        () -> first.getPartitionService().isClusterSafe());
  }

  @AfterEach
  void stopCluster() {
    if (second.getLifecycleService().isRunning()) {
      second.getLifecycleService().terminate();
    }
    if (first.getLifecycleService().isRunning()) {
      first.getLifecycleService().terminate();
    }
  }

  @Override
  protected List<LimitStore> stores() {
    return List.of(new HazelcastLimitStore(first, MAP), new HazelcastLimitStore(second, MAP));
  }

  @Test
  void countsSurviveTheCrashOfAMember() throws Exception {
    LimitAlgorithm limit = new FixedWindow(100, MINUTE);
    LimitStore viaFirst = new HazelcastLimitStore(first, MAP);
    // Spread keys over both members' partitions.
    for (int k = 0; k < 40; k++) {
      for (int i = 0; i < 7; i++) {
        assertTrue(viaFirst.acquire("crash-" + k, limit, 1).toCompletableFuture()
            .get(10, TimeUnit.SECONDS).allowed());
      }
    }
    second.getLifecycleService().terminate();
    Awaits.await("one member left", Duration.ofSeconds(30),
        () -> first.getCluster().getMembers().size() == 1);
    for (int k = 0; k < 40; k++) {
      assertEquals(93, viaFirst.acquire("crash-" + k, limit, 0).toCompletableFuture()
          .get(10, TimeUnit.SECONDS).remaining(), "key crash-" + k);
    }
  }

  @Test
  void theMemberPortRefusesHazelcastClients() {
    com.hazelcast.client.config.ClientConfig config = new com.hazelcast.client.config.ClientConfig();
    config.setClusterName(first.getConfig().getClusterName());
    config.getNetworkConfig().addAddress("127.0.0.1:"
        + first.getCluster().getLocalMember().getAddress().getPort());
    config.getConnectionStrategyConfig().getConnectionRetryConfig()
        .setClusterConnectTimeoutMillis(3_000);
    config.setProperty("hazelcast.phone.home.enabled", "false");
    org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
        () -> com.hazelcast.client.HazelcastClient.newHazelcastClient(config).shutdown());
  }
}
