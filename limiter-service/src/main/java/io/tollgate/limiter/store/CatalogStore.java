package io.tollgate.limiter.store;

import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.UsagePlan;
import java.time.LocalDate;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Where plans, keys and quota counters created through the admin API live, shared by every
 * member and kept in the database. Plans and keys declared in the YAML config are not here.
 *
 * <p>Reads for checks are asynchronous; admin operations block (they are rare and run on their
 * own threads).
 */
public interface CatalogStore {

  /** Told about changes made on any member; called on every member before the change returns. */
  interface Listener {
    /** The key with this hash was created, changed or deleted. */
    void keyChanged(String hash);

    /** A plan was created, changed or deleted. */
    void plansChanged();
  }

  /** The key whose value hashes to {@code hash}, or {@code null}. */
  CompletionStage<ApiKey> findKey(String hash);

  /** Every stored plan, by id. */
  Map<String, UsagePlan> loadPlans();

  /** Every stored key. */
  Collection<ApiKey> allKeys();

  /** The hashes of every stored key. */
  default Set<String> keyHashes() {
    Set<String> out = new HashSet<>();
    for (ApiKey k : allKeys()) {
      out.add(k.hash());
    }
    return out;
  }

  /** Stores a plan unless one with its id exists; returns the existing one, or {@code null}. */
  UsagePlan putPlanIfAbsent(UsagePlan plan);

  /** Stores (replaces) a plan. */
  void putPlan(UsagePlan plan);

  /** Deletes a plan; returns whether it existed. */
  boolean deletePlan(String id);

  /** Stores a key unless one with its hash exists; returns the existing one, or {@code null}. */
  ApiKey putKeyIfAbsent(ApiKey key);

  /** Stores (replaces) a key. */
  void putKey(ApiKey key);

  /** Deletes a key by hash; returns whether it existed. */
  boolean deleteKey(String hash);

  /** Tells every member's listener that a key changed, and waits for them. */
  void broadcastKeyChanged(String hash);

  /** Tells every member's listener that the plans changed, and waits for them. */
  void broadcastPlansChanged();

  /** Runs {@code action} while holding the cluster-wide admin lock. */
  <T> T withAdminLock(Supplier<T> action);

  /** The store of quota counters (one per plan and key). */
  LimitStore quotas();

  /** The quota counter of {@code key} as it stands. */
  QuotaSnapshot readQuota(String key, CalendarQuota quota);

  /**
   * Sets what remains of the current period ({@code remaining}), or resets the period's count
   * ({@code remaining == null}).
   */
  QuotaSnapshot adjustQuota(String key, CalendarQuota quota, Long remaining);

  /**
   * Requests per key per UTC day, from the database after every pending counter write has been
   * flushed. Days without requests are absent.
   *
   * @param keyIds the keys to report
   */
  Map<String, SortedMap<LocalDate, Long>> dailyUsage(String planId, Collection<String> keyIds,
      LocalDate from, LocalDate to);
}
