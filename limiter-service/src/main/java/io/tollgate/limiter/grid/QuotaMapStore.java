package io.tollgate.limiter.grid;

import com.hazelcast.map.MapStore;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.persist.QuotaRecord;
import io.tollgate.limiter.persist.QuotaRepository;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Write-behind of quota counters to the database. A counter's key is {@code planId/keyId}; its
 * state holds the current period's count and the requests of the last days with use, and every
 * write replaces the stored rows of those days, so writes that Hazelcast coalesces lose nothing
 * as long as they are flushed within a week. Nothing is loaded up front: a counter is read from
 * the database the first time it is used after a start.
 */
final class QuotaMapStore implements MapStore<String, LimitState> {

  private final QuotaRepository repository;

  QuotaMapStore(QuotaRepository repository) {
    this.repository = repository;
  }

  /** The counter key of a plan and key. Ids hold no '/'. */
  static String key(String planId, String keyId) {
    return planId + "/" + keyId;
  }

  private static QuotaRecord record(String key, LimitState state) {
    int slash = key.indexOf('/');
    return new QuotaRecord(key.substring(0, slash), key.substring(slash + 1), state.mark(),
        state.count(), CalendarQuota.usageDays(state));
  }

  @Override
  public void store(String key, LimitState state) {
    repository.storeAll(List.of(record(key, state)));
  }

  @Override
  public void storeAll(Map<String, LimitState> states) {
    List<QuotaRecord> records = new ArrayList<>(states.size());
    states.forEach((k, v) -> records.add(record(k, v)));
    repository.storeAll(records);
  }

  @Override
  public void delete(String key) {
    int slash = key.indexOf('/');
    repository.delete(key.substring(0, slash), key.substring(slash + 1));
  }

  @Override
  public void deleteAll(Collection<String> keys) {
    keys.forEach(this::delete);
  }

  @Override
  public LimitState load(String key) {
    int slash = key.indexOf('/');
    if (slash < 0) {
      return null;
    }
    QuotaRecord r = repository.load(key.substring(0, slash), key.substring(slash + 1));
    return r == null ? null : CalendarQuota.restore(r.periodStart(), r.used(), r.days());
  }

  @Override
  public Map<String, LimitState> loadAll(Collection<String> keys) {
    Map<String, LimitState> out = new HashMap<>();
    for (String k : keys) {
      LimitState s = load(k);
      if (s != null) {
        out.put(k, s);
      }
    }
    return out;
  }

  @Override
  public Iterable<String> loadAllKeys() {
    return null;
  }
}
