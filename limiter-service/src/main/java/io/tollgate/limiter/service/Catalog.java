package io.tollgate.limiter.service;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.PlanConfig;
import io.tollgate.limiter.plan.UsagePlan;
import io.tollgate.limiter.store.CatalogStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * This member's view of plans and keys: those declared in the YAML config, then those in the
 * grid.
 *
 * <p>Checks find keys here without a grid call in the common case: keys (and unknown hashes)
 * are cached, and plans are held whole. Every admin change is announced to every member, which
 * drops the cache entry (or reloads the plans) before the admin call returns, so a change holds
 * from the next check on any member. In case an announcement is lost (a member that was
 * unreachable at that moment), cache entries also expire after {@link #CACHE_TTL} and the plans
 * are read again every {@link #CACHE_TTL}.
 *
 * <p>Unknown keys are answered from memory: the catalog holds the hash of every stored key (read
 * at start and every {@link #CACHE_TTL}, and added to by every announcement), and a hash that is
 * neither declared nor among them is unknown without a grid call or a database read, so a flood
 * of made-up keys reaches neither. An announced hash stays until the next read of the database
 * drops it (a deleted key is then looked up, and found absent, until that read). The set costs
 * about 150 bytes a stored key.
 */
public final class Catalog implements CatalogStore.Listener, AutoCloseable {

  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(Catalog.class.getName());

  /** How long a cached key is trusted without an announcement. */
  static final Duration CACHE_TTL = Duration.ofSeconds(30);

  private final CatalogStore store;
  private final Supplier<PlanConfig> config;
  private final AsyncLoadingCache<String, Optional<ApiKey>> keys;
  private volatile Map<String, UsagePlan> storedPlans = Map.of();
  /** Hashes of every stored key, and of every key announced since. */
  private final Set<String> storedHashes = ConcurrentHashMap.newKeySet();
  /** Hashes announced since the last database read of the hashes began. */
  private final Set<String> announced = ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.ScheduledExecutorService refresher =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tollgate-catalog-refresh");
        t.setDaemon(true);
        return t;
      });

  public Catalog(CatalogStore store, Supplier<PlanConfig> config) {
    this.store = store;
    this.config = config;
    this.keys = Caffeine.newBuilder()
        .maximumSize(200_000)
        .expireAfterWrite(CACHE_TTL)
        .buildAsync((hash, executor) ->
            store.findKey(hash).thenApply(Optional::ofNullable).toCompletableFuture());
  }

  /** Loads the stored plans and schedules their periodic re-read; call once the grid is up. */
  public void start() {
    reloadPlans();
    reloadKeyHashes();
    long every = CACHE_TTL.toMillis();
    refresher.scheduleWithFixedDelay(() -> {
      try {
        reloadPlans();
      } catch (RuntimeException e) {
        LOG.warning("could not re-read the stored plans: " + e);
      }
      try {
        reloadKeyHashes();
      } catch (RuntimeException e) {
        LOG.warning("could not re-read the stored key hashes: " + e);
      }
    }, every, every, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /**
   * Reads the hashes of the stored keys. A key announced while the read runs is kept whatever
   * the read says: its change was in the database before its announcement, but perhaps after the
   * read.
   */
  private synchronized void reloadKeyHashes() {
    announced.clear();
    Set<String> read = store.keyHashes();
    storedHashes.addAll(read);
    storedHashes.removeIf(h -> !read.contains(h) && !announced.contains(h));
  }

  /**
   * Reads the stored plans. Synchronized, so that of two reads racing (a change notice during
   * start-up, a notice during a periodic read) the one that started last is the one kept.
   */
  private synchronized void reloadPlans() {
    storedPlans = Map.copyOf(store.loadPlans());
  }

  @Override
  public void close() {
    refresher.shutdownNow();
  }

  /** The YAML config's plan part. */
  public PlanConfig config() {
    return config.get();
  }

  /** The grid store behind this catalog. */
  public CatalogStore store() {
    return store;
  }

  /** The key whose value hashes to {@code hash}; empty when there is none. */
  public CompletableFuture<Optional<ApiKey>> key(String hash) {
    ApiKey declared = config.get().keys().get(hash);
    if (declared != null) {
      return CompletableFuture.completedFuture(Optional.of(declared));
    }
    if (!storedHashes.contains(hash)) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return keys.get(hash);
  }

  /** The plan with this id, declared or stored, or {@code null}. */
  public UsagePlan plan(String id) {
    UsagePlan declared = config.get().plans().get(id);
    return declared != null ? declared : storedPlans.get(id);
  }

  /** Every plan, declared ones winning over stored ones of the same id. */
  public Map<String, UsagePlan> plans() {
    Map<String, UsagePlan> all = new HashMap<>(storedPlans);
    all.putAll(config.get().plans());
    return all;
  }

  /** Every key, declared and stored, in id order. */
  public List<ApiKey> keys() {
    Map<String, ApiKey> byHash = new HashMap<>();
    for (ApiKey k : store.allKeys()) {
      byHash.put(k.hash(), k);
    }
    byHash.putAll(config.get().keys());
    List<ApiKey> out = new ArrayList<>(byHash.values());
    out.sort(Comparator.comparing(ApiKey::id));
    return out;
  }

  /** The key with this id, or {@code null}. */
  public ApiKey keyById(String id) {
    for (ApiKey k : config.get().keys().values()) {
      if (k.id().equals(id)) {
        return k;
      }
    }
    Collection<ApiKey> stored = store.allKeys();
    for (ApiKey k : stored) {
      if (k.id().equals(id)) {
        return k;
      }
    }
    return null;
  }

  @Override
  public void keyChanged(String hash) {
    announced.add(hash);
    storedHashes.add(hash);
    keys.synchronous().invalidate(hash);
  }

  @Override
  public void plansChanged() {
    reloadPlans();
  }
}
