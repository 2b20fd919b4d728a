package io.tollgate.limiter.grid;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.LocalMapStats;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.store.LimitStore;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Limit state in a map with one entry per key (the plans' quota counters), changed only by
 * {@link AcquireProcessor}, {@link RefundProcessor} and (calendar quotas)
 * {@link QuotaAdjustProcessor} on the key's owner.
 *
 * <p>Answers complete on the store's callback executor ({@link GridThreads#CALLBACKS} unless
 * another is given); callers must attach only short, non-blocking callbacks. A call made on one
 * of Hazelcast's own threads is started from a sender thread (see {@link GridThreads}).
 */
public final class HazelcastLimitStore implements LimitStore {

  private final IMap<String, LimitState> counters;
  /** Where the answers complete; see {@link GridThreads#CALLBACKS}. */
  private final Executor callbacks;

  /**
   * Creates a store over a map of limit states (the quota counters) of a member configured by
   * {@link GridConfig#configure}.
   */
  public HazelcastLimitStore(HazelcastInstance member, String mapName) {
    this(member, mapName, GridThreads.CALLBACKS);
  }

  /**
   * Creates a store over a map of limit states whose answers complete on {@code callbacks}, so
   * that callbacks attached without an executor never run on Hazelcast's default one.
   */
  public HazelcastLimitStore(HazelcastInstance member, String mapName, Executor callbacks) {
    this.counters = member.getMap(mapName);
    this.callbacks = java.util.Objects.requireNonNull(callbacks, "callbacks");
  }

  private <T> CompletionStage<T> call(java.util.function.Supplier<CompletionStage<T>> operation) {
    return GridThreads.completeOn(GridThreads.start(operation), callbacks);
  }

  @Override
  public CompletionStage<Decision> acquire(String key, LimitAlgorithm algorithm, long permits) {
    return call(() -> counters.submitToKey(
        key, new AcquireProcessor(algorithm, permits)));
  }

  @Override
  public CompletionStage<Boolean> refund(String key, LimitAlgorithm algorithm, Decision decision) {
    return call(() -> counters.submitToKey(
        key, new RefundProcessor(algorithm, decision)));
  }

  /**
   * Removes the key's entry, on its owner and backup. In a map kept in the database (the quota
   * counters) the removal is written behind like any change: the key's rows (its counter and its
   * daily usage) are deleted, and until then the pending deletion hides them, so a later call
   * does not load the old count back. To zero a quota's period and keep its usage history, use
   * {@link #resetQuota} instead.
   */
  @Override
  public CompletionStage<Boolean> reset(String key) {
    return call(() -> counters.removeAsync(key)).thenApply(previous -> previous != null);
  }

  /**
   * Grants quota: sets what remains of {@code quota}'s current period for {@code key} to
   * {@code remaining}, which may exceed the limit. The usage days are kept.
   *
   * @return the quota after the change
   * @throws IllegalArgumentException if {@code remaining} is negative
   */
  public CompletionStage<QuotaSnapshot> grantQuota(String key, CalendarQuota quota,
      long remaining) {
    return call(() -> counters.submitToKey(
        key, QuotaAdjustProcessor.grant(quota, remaining)));
  }

  /**
   * Sets the count of {@code quota}'s current period for {@code key} to zero. The usage days are
   * kept.
   *
   * @return the quota after the change
   */
  public CompletionStage<QuotaSnapshot> resetQuota(String key, CalendarQuota quota) {
    return call(() -> counters.submitToKey(
        key, QuotaAdjustProcessor.reset(quota)));
  }

  /** Reads {@code quota} for {@code key} as it stands now; changes nothing. */
  public CompletionStage<QuotaSnapshot> readQuota(String key, CalendarQuota quota) {
    return call(() -> counters.submitToKey(
        key, new QuotaReadProcessor(quota)));
  }

  /** Entries whose primary is on this member. */
  public long localOwnedEntries() {
    LocalMapStats stats = counters.getLocalMapStats();
    return stats.getOwnedEntryCount();
  }

  /** Backup entries held by this member. */
  public long localBackupEntries() {
    return counters.getLocalMapStats().getBackupEntryCount();
  }
}
