package io.tollgate.limiter.grid;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.JavaSerializationFilterConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MapStoreConfig;
import com.hazelcast.config.MapStoreConfig.InitialLoadMode;
import com.hazelcast.config.SerializationConfig;
import com.hazelcast.core.ManagedContext;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.persist.KeyRepository;
import io.tollgate.limiter.persist.PlanRepository;
import io.tollgate.limiter.persist.QuotaRepository;
import io.tollgate.limiter.store.CatalogStore;
import java.util.HashSet;
import java.util.Set;

/**
 * The grid's part of a member's configuration, in one place: the maps of limit state and RLQS
 * shares, every serializer factory of this package's data, the Java serialization filter, and
 * the managed context that gives processors the member's clock ({@link #configure}); and the
 * plan catalog's maps with their database stores ({@link #configureCatalog}), added by the server,
 * which owns the repositories.
 */
public final class GridConfig {

  /**
   * Every serializer factory id a member registers. Hazelcast finds a class's factory by this id
   * alone, so two factories with one id would read each other's bytes.
   */
  static final int[] FACTORY_IDS = {
      GridSerialization.FACTORY_ID, CatalogSerialization.FACTORY_ID, ShareGrid.FACTORY_ID};

  /** Partitions each expiry run visits per member: all of them at the default count. */
  static final int EXPIRY_PARTITIONS_PER_RUN = 271;

  private GridConfig() {}

  /**
   * Adds the grid's maps, serializers and managed context to {@code config}.
   *
   * @param clock the clock processors on this member read
   */
  public static void configure(Config config, WallClock clock) {
    checkDistinct(FACTORY_IDS);
    SerializationConfig serialization = config.getSerializationConfig();
    serialization.setJavaSerializationFilterConfig(javaSerializationFilter());
    GridSerialization.register(serialization);
    ShareGrid.registerSerialization(serialization);

    // Idle counters are removed by Hazelcast's own expiry (every write sets a TTL, see
    // PartitionedLimitStore). By default each run (every 5 s) visits only a few partitions and
    // scans a tenth of their expiring entries: measured here, 100 idle keys took minutes to go.
    // Visit every partition and scan all of its expiring entries each run instead (a check of
    // each entry's expiry time on the partition thread; ~3,700 entries per partition at a
    // million keys).
    config.setProperty("hazelcast.internal.map.expiration.task.period.seconds", "5");
    config.setProperty("hazelcast.internal.map.expiration.cleanup.operation.count",
        Integer.toString(EXPIRY_PARTITIONS_PER_RUN));
    config.setProperty("hazelcast.internal.map.expiration.cleanup.percentage", "100");

    // The rules' counters, one entry per key (see PartitionedLimitStore), and the RLQS share
    // tables: one synchronous backup, so an acknowledged change is on two members and the loss
    // of one loses nothing. Entry processors are the only access, so OBJECT keeps values
    // deserialized on the owner.
    config.addMapConfig(new MapConfig(PartitionedLimitStore.COUNTERS_MAP)
        .setBackupCount(1)
        .setAsyncBackupCount(0)
        .setInMemoryFormat(InMemoryFormat.OBJECT)
        .setStatisticsEnabled(true));
    config.addMapConfig(new MapConfig(ShareGrid.SHARES_MAP)
        .setBackupCount(1)
        .setAsyncBackupCount(0)
        .setInMemoryFormat(InMemoryFormat.OBJECT));

    ManagedContext previous = config.getManagedContext();
    config.setManagedContext(object -> {
      Object o = previous == null ? object : previous.initialize(object);
      if (o instanceof ClockAware aware) {
        aware.setClock(clock);
      }
      ShareGrid.initialize(o, clock);
      return o;
    });
  }

  /**
   * Adds the catalog's maps, their database stores and serializers to a member's config, and the
   * listener that change notices reach on this member.
   */
  public static void configureCatalog(Config config, PlanRepository planRepository,
      KeyRepository keyRepository, QuotaRepository quotaRepository, CatalogStore.Listener listener) {
    CatalogSerialization.register(config);
    config.addMapConfig(new MapConfig(HazelcastCatalog.PLANS_MAP)
        .setBackupCount(1)
        .setInMemoryFormat(InMemoryFormat.OBJECT)
        .setMapStoreConfig(new MapStoreConfig()
            .setEnabled(true)
            .setImplementation(new WriteThroughMapStore<>(planRepository::load,
                planRepository::store, planRepository::delete))
            .setWriteDelaySeconds(0)
            .setInitialLoadMode(InitialLoadMode.LAZY)));
    config.addMapConfig(new MapConfig(HazelcastCatalog.KEYS_MAP)
        .setBackupCount(1)
        .setInMemoryFormat(InMemoryFormat.OBJECT)
        .setMapStoreConfig(new MapStoreConfig()
            .setEnabled(true)
            .setImplementation(new WriteThroughMapStore<>(keyRepository::load,
                keyRepository::store, keyRepository::delete))
            .setWriteDelaySeconds(0)
            .setInitialLoadMode(InitialLoadMode.LAZY)));
    config.addMapConfig(new MapConfig(HazelcastCatalog.QUOTAS_MAP)
        .setBackupCount(1)
        .setAsyncBackupCount(0)
        .setInMemoryFormat(InMemoryFormat.OBJECT)
        .setStatisticsEnabled(true)
        .setMapStoreConfig(new MapStoreConfig()
            .setEnabled(true)
            .setImplementation(new QuotaMapStore(quotaRepository))
            .setWriteDelaySeconds(HazelcastCatalog.WRITE_DELAY_SECONDS)
            .setWriteBatchSize(500)
            .setWriteCoalescing(true)
            .setInitialLoadMode(InitialLoadMode.LAZY)));
    config.getUserContext().put(CatalogChanged.LISTENER, listener);
  }

  /**
   * What Java deserialization may create from bytes another member (or anything that reached the
   * cluster port) sent. Our grid data never uses Java serialization (every type has an explicit
   * serializer), but Hazelcast falls back to it for any {@code Serializable} it is handed, and
   * the class path holds libraries (Jackson, Guava, ClassGraph) with classes that are known
   * deserialization gadgets or could become one. Allowed: our classes, Hazelcast's, the JDK's
   * and arrays (Hazelcast's default list, which it also uses internally, e.g. for exceptions in
   * answers), minus Hazelcast's built-in list of known gadget classes. Anything else is refused
   * with a {@link SecurityException} before the class is loaded.
   */
  static JavaSerializationFilterConfig javaSerializationFilter() {
    JavaSerializationFilterConfig filter = new JavaSerializationFilterConfig();
    // Defaults stay on: they add com.hazelcast., java and [ to the allowed prefixes and the
    // known gadget classes to the refused ones.
    filter.setDefaultsDisabled(false);
    filter.getWhitelist().addPrefixes("io.tollgate.");
    return filter;
  }

  static void checkDistinct(int[] factoryIds) {
    Set<Integer> seen = new HashSet<>();
    for (int id : factoryIds) {
      if (!seen.add(id)) {
        throw new IllegalStateException("serializer factory id " + id + " is used twice");
      }
    }
  }
}
