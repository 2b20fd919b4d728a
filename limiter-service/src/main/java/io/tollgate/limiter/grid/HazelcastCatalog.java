package io.tollgate.limiter.grid;

import com.hazelcast.cluster.Member;
import com.hazelcast.config.MapStoreConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.persist.KeyRepository;
import io.tollgate.limiter.persist.PlanRepository;
import io.tollgate.limiter.persist.QuotaRepository;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.UsagePlan;
import io.tollgate.limiter.store.CatalogStore;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.StoreUnavailableException;
import java.time.LocalDate;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The catalog in the grid: plans and keys in maps written through to the database, quota
 * counters in a map written behind to it.
 *
 * <ul>
 *   <li>{@value #PLANS_MAP}: plan id → plan; write-through;
 *   <li>{@value #KEYS_MAP}: hash of the key's value → key; write-through, read on a miss;
 *   <li>{@value #QUOTAS_MAP}: {@code planId/keyId} → quota state; written behind with a delay of
 *       {@value #WRITE_DELAY_SECONDS} s (coalesced), loaded on first use.
 * </ul>
 *
 * <p>Nothing is loaded up front, and listings (every plan, every key) are read from the
 * database, which write-through keeps current: map-wide operations on a map with a loader can
 * wait on Hazelcast's initial key loading, which may stall after the loss of a member.
 *
 * <p>Every map has one synchronous backup, and Hazelcast backs up the write-behind queue too, so
 * the loss of one member loses neither a count nor a pending write. A full restart loses at most
 * the counts of the last {@value #WRITE_DELAY_SECONDS} s before an abrupt stop; a graceful stop
 * flushes them.
 */
public final class HazelcastCatalog implements CatalogStore {

  private static final Logger LOG = Logger.getLogger(HazelcastCatalog.class.getName());

  /** Plans created through the admin API. */
  public static final String PLANS_MAP = "tollgate-plans";
  /** Keys created through the admin API. */
  public static final String KEYS_MAP = "tollgate-keys";
  /** Quota counters with usage per day. */
  public static final String QUOTAS_MAP = "tollgate-quotas";
  /** The delay of quota counter writes to the database. */
  public static final int WRITE_DELAY_SECONDS = 1;

  private static final String LOCKS_MAP = "tollgate-admin-locks";
  private static final String EXECUTOR = "tollgate-catalog";
  private static final long BROADCAST_TIMEOUT_SECONDS = 10;

  private final HazelcastInstance member;
  private final IMap<String, UsagePlan> plans;
  private final IMap<String, ApiKey> keys;
  private final IMap<String, LimitState> quotaStates;
  private final HazelcastLimitStore quotas;
  private final QuotaRepository quotaRepository;
  private final PlanRepository planRepository;
  private final KeyRepository keyRepository;

  /**
   * Creates the catalog over a member configured by {@link GridConfig#configureCatalog}, reading listings and
   * usage reports from the repositories.
   */
  public HazelcastCatalog(HazelcastInstance member, PlanRepository planRepository,
      KeyRepository keyRepository, QuotaRepository quotaRepository) {
    this.planRepository = planRepository;
    this.keyRepository = keyRepository;
    this.member = member;
    this.plans = member.getMap(PLANS_MAP);
    this.keys = member.getMap(KEYS_MAP);
    this.quotaStates = member.getMap(QUOTAS_MAP);
    this.quotas = new HazelcastLimitStore(member, QUOTAS_MAP);
    this.quotaRepository = quotaRepository;
  }

  @Override
  public CompletionStage<ApiKey> findKey(String hash) {
    // Completed on our callback threads, not on Hazelcast's default async executor.
    return GridThreads.completeOn(keys.getAsync(hash), GridThreads.CALLBACKS);
  }

  @Override
  public Map<String, UsagePlan> loadPlans() {
    return new HashMap<>(planRepository.loadAll());
  }

  @Override
  public Collection<ApiKey> allKeys() {
    return List.copyOf(keyRepository.loadAll().values());
  }

  @Override
  public Set<String> keyHashes() {
    return keyRepository.hashes();
  }

  @Override
  public UsagePlan putPlanIfAbsent(UsagePlan plan) {
    return plans.putIfAbsent(plan.id(), plan);
  }

  @Override
  public void putPlan(UsagePlan plan) {
    plans.set(plan.id(), plan);
  }

  @Override
  public boolean deletePlan(String id) {
    return plans.remove(id) != null;
  }

  @Override
  public ApiKey putKeyIfAbsent(ApiKey key) {
    return keys.putIfAbsent(key.hash(), key);
  }

  @Override
  public void putKey(ApiKey key) {
    keys.set(key.hash(), key);
  }

  @Override
  public boolean deleteKey(String hash) {
    return keys.remove(hash) != null;
  }

  @Override
  public void broadcastKeyChanged(String hash) {
    broadcast(new CatalogChanged(hash));
  }

  @Override
  public void broadcastPlansChanged() {
    broadcast(new CatalogChanged(null));
  }

  private void broadcast(CatalogChanged notice) {
    Map<Member, Future<Boolean>> answers =
        member.getExecutorService(EXECUTOR).submitToAllMembers(notice);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BROADCAST_TIMEOUT_SECONDS);
    for (Map.Entry<Member, Future<Boolean>> a : answers.entrySet()) {
      try {
        a.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreUnavailableException("interrupted while telling members of a change", e);
      } catch (ExecutionException | TimeoutException e) {
        // The member keeps a stale entry at most until its cache entry expires (see Catalog).
        LOG.warning("member " + a.getKey().getAddress() + " did not confirm a catalog change: "
            + e);
      }
    }
  }

  @Override
  public <T> T withAdminLock(Supplier<T> action) {
    IMap<String, Boolean> locks = member.getMap(LOCKS_MAP);
    try {
      // The lease frees the lock if its holder dies; it is far longer than any change takes.
      if (!locks.tryLock("admin", 10, TimeUnit.SECONDS, 300, TimeUnit.SECONDS)) {
        throw new StoreUnavailableException("another admin change is in progress; try again",
            null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreUnavailableException("interrupted while waiting for the admin lock", e);
    }
    try {
      return action.get();
    } finally {
      try {
        locks.unlock("admin");
      } catch (IllegalMonitorStateException e) {
        LOG.warning("the admin lock's lease ran out before the change finished");
      }
    }
  }

  @Override
  public LimitStore quotas() {
    return quotas;
  }

  @Override
  public QuotaSnapshot readQuota(String key, CalendarQuota quota) {
    return quotaStates.executeOnKey(key, new QuotaReadProcessor(quota));
  }

  @Override
  public QuotaSnapshot adjustQuota(String key, CalendarQuota quota, Long remaining) {
    return quotaStates.executeOnKey(key, remaining == null
        ? QuotaAdjustProcessor.reset(quota) : QuotaAdjustProcessor.grant(quota, remaining));
  }

  @Override
  public Map<String, SortedMap<LocalDate, Long>> dailyUsage(String planId,
      Collection<String> keyIds, LocalDate from, LocalDate to) {
    // Pending counter writes (at most WRITE_DELAY_SECONDS old) reach the database first, on every
    // member, so the report counts every allowed check.
    quotaStates.flush();
    return quotaRepository.dailyUsage(planId, keyIds, from, to);
  }
}
