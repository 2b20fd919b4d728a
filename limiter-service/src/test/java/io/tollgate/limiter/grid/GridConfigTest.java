package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.testing.FakeClock;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One place configures the grid's maps and registers its serializer factories. */
class GridConfigTest {

  @Test
  void aMemberConfigHasTheGridsMapsAndFactoriesAndNoUnusedMap() {
    Config config = GridMember.config("grid-config", "127.0.0.1", 5701, List.of(),
        new FakeClock());
    assertTrue(config.getMapConfigs().containsKey(PartitionedLimitStore.COUNTERS_MAP));
    assertEquals(1, config.getMapConfig(PartitionedLimitStore.COUNTERS_MAP).getBackupCount());
    assertEquals(0,
        config.getMapConfig(PartitionedLimitStore.COUNTERS_MAP).getAsyncBackupCount());
    assertFalse(config.getMapConfigs().containsKey("tollgate-counter-buckets"),
        "the bucketed counters map of the previous layout is configured");
    assertTrue(config.getMapConfigs().containsKey(ShareGrid.SHARES_MAP));
    assertFalse(config.getMapConfigs().containsKey("tollgate-counters"),
        "the unused per-key counters map is configured");
    var factories = config.getSerializationConfig().getDataSerializableFactories();
    assertTrue(factories.containsKey(GridSerialization.FACTORY_ID));
    assertTrue(factories.containsKey(ShareGrid.FACTORY_ID));
    assertEquals(1, config.getMapConfig(ShareGrid.SHARES_MAP).getBackupCount());
  }

  @Test
  void factoryIdsAreDistinctAndADuplicateIsRefused() {
    GridConfig.checkDistinct(GridConfig.FACTORY_IDS);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> GridConfig.checkDistinct(new int[] {1, 2, 1}));
    assertTrue(e.getMessage().contains("1"), e.getMessage());
  }
}
