package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.persist.Database;
import io.tollgate.limiter.persist.DatabaseSettings;
import io.tollgate.limiter.store.CatalogStore;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link HazelcastLimitStore#reset} on the quota counters, which are written behind to the
 * database: the stored row must not bring a reset count back, neither while the deletion waits
 * to be written nor after a restart.
 */
class QuotaResetTest {

  private static final String KEY = "gold/key-1";
  private static final CalendarQuota QUOTA =
      new CalendarQuota(10, CalendarPeriod.DAY, 0, ZoneOffset.UTC);

  @TempDir
  Path dir;

  private final FakeClock clock = new FakeClock();

  @Test
  void aResetCountStaysResetInTheDatabaseAndAfterARestart() throws Exception {
    try (Database db = Database.open(DatabaseSettings.embedded(dir))) {
      HazelcastInstance member = start(db);
      try {
        LimitStore quotas = new HazelcastCatalog(member, db.plans(), db.keys(), db.quotas())
            .quotas();
        assertEquals(6, get(quotas, 4));
        member.getMap(HazelcastCatalog.QUOTAS_MAP).flush();
        assertEquals(4, db.quotas().load("gold", "key-1").used());

        assertTrue(quotas.reset(KEY).toCompletableFuture().get(10, TimeUnit.SECONDS));
        // Before the deletion is written, the pending deletion hides the stored row.
        assertEquals(10, get(quotas, 0));
        member.getMap(HazelcastCatalog.QUOTAS_MAP).flush();
        assertNull(db.quotas().load("gold", "key-1"));
        assertEquals(7, get(quotas, 3));
        member.getMap(HazelcastCatalog.QUOTAS_MAP).flush();
      } finally {
        member.shutdown();
      }
      HazelcastInstance again = start(db);
      try {
        LimitStore quotas = new HazelcastCatalog(again, db.plans(), db.keys(), db.quotas())
            .quotas();
        assertEquals(7, get(quotas, 0));
      } finally {
        again.shutdown();
      }
    }
  }

  private HazelcastInstance start(Database db) {
    int port = FreePorts.next();
    Config config = GridMember.config("quota-reset-" + UUID.randomUUID(), "127.0.0.1", port,
        List.of("127.0.0.1:" + port), clock);
    GridConfig.configureCatalog(config, db.plans(), db.keys(), db.quotas(),
        new CatalogStore.Listener() {
          @Override
          public void keyChanged(String hash) {}

          @Override
          public void plansChanged() {}
        });
    HazelcastInstance member = GridMember.start(config);
    Awaits.await("cluster safe", Duration.ofSeconds(30),
        () -> member.getPartitionService().isClusterSafe());
    return member;
  }

  /** Takes {@code units} from the quota and answers what remains. */
  private static long get(LimitStore quotas, long units) throws Exception {
    return quotas.acquire(KEY, QUOTA, units).toCompletableFuture().get(10, TimeUnit.SECONDS)
        .remaining();
  }
}
