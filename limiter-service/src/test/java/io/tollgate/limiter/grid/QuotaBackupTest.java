package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A quota adjusted on one member survives that member's crash, through its backup. */
class QuotaBackupTest {

  /** A map of limit states with Hazelcast's defaults (one synchronous backup). */
  private static final String MAP = "test-limit-states";

  private final FakeClock clock = new FakeClock();
  private HazelcastInstance survivor;
  private HazelcastInstance owner;

  @BeforeEach
  void startCluster() {
    String name = "quota-backup-" + UUID.randomUUID();
    int p1 = FreePorts.next();
    int p2 = FreePorts.next();
    List<String> members = List.of("127.0.0.1:" + p1, "127.0.0.1:" + p2);
    Config c1 = GridMember.config(name, "127.0.0.1", p1, members, clock);
    Config c2 = GridMember.config(name, "127.0.0.1", p2, members, clock);
    survivor = GridMember.start(c1);
    owner = GridMember.start(c2);
    Awaits.await("two members", Duration.ofSeconds(30),
        () -> survivor.getCluster().getMembers().size() == 2
            && owner.getCluster().getMembers().size() == 2);
    Awaits.await("cluster safe", Duration.ofSeconds(30),
        () -> survivor.getPartitionService().isClusterSafe());
  }

  @AfterEach
  void stopCluster() {
    for (HazelcastInstance m : List.of(owner, survivor)) {
      if (m.getLifecycleService().isRunning()) {
        m.getLifecycleService().terminate();
      }
    }
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A key whose primary is on {@link #owner}. */
  private String keyOwnedByOwner(String prefix) {
    UUID ownerId = owner.getCluster().getLocalMember().getUuid();
    for (int i = 0; ; i++) {
      String key = prefix + i;
      if (survivor.getPartitionService().getPartition(key).getOwner().getUuid().equals(ownerId)) {
        return key;
      }
    }
  }

  @Test
  void anAdjustedQuotaSurvivesTheCrashOfItsOwner() throws Exception {
    CalendarQuota quota = new CalendarQuota(10, CalendarPeriod.DAY, 0,
        ZoneId.of("Europe/Berlin"));
    HazelcastLimitStore store = new HazelcastLimitStore(survivor, MAP);
    String granted = keyOwnedByOwner("granted-");
    String reset = keyOwnedByOwner("reset-");

    assertTrue(get(store.acquire(granted, quota, 3)).allowed());
    QuotaSnapshot afterGrant = get(store.grantQuota(granted, quota, 50));
    assertEquals(-40, afterGrant.used());
    assertTrue(get(store.acquire(reset, quota, 10)).allowed());
    assertFalse(get(store.acquire(reset, quota, 1)).allowed());
    assertEquals(0, get(store.resetQuota(reset, quota)).used());

    owner.getLifecycleService().terminate();
    Awaits.await("one member left", Duration.ofSeconds(30),
        () -> survivor.getCluster().getMembers().size() == 1);

    assertEquals(afterGrant, get(store.readQuota(granted, quota)));
    LimitState state = survivor.<String, LimitState>getMap(MAP)
        .get(granted);
    assertEquals(3L, CalendarQuota.usageDays(state).get(LocalDate.parse("2026-11-27")
        .toEpochDay()), "the usage days came with the backup");
    assertEquals(49, get(store.acquire(granted, quota, 1)).remaining());

    assertEquals(0, get(store.readQuota(reset, quota)).used());
    assertTrue(get(store.acquire(reset, quota, 10)).allowed());
    assertFalse(get(store.acquire(reset, quota, 1)).allowed());
  }
}
