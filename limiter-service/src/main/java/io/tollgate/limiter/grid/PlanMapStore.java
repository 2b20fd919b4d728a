package io.tollgate.limiter.grid;

import com.hazelcast.map.MapStore;
import io.tollgate.limiter.persist.PlanRepository;
import io.tollgate.limiter.plan.UsagePlan;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/** Write-through of the plans map to the database; every plan is loaded when the map starts. */
final class PlanMapStore implements MapStore<String, UsagePlan> {

  private final PlanRepository repository;

  PlanMapStore(PlanRepository repository) {
    this.repository = repository;
  }

  @Override
  public void store(String id, UsagePlan plan) {
    repository.store(plan);
  }

  @Override
  public void storeAll(Map<String, UsagePlan> plans) {
    plans.values().forEach(repository::store);
  }

  @Override
  public void delete(String id) {
    repository.delete(id);
  }

  @Override
  public void deleteAll(Collection<String> ids) {
    ids.forEach(repository::delete);
  }

  @Override
  public UsagePlan load(String id) {
    return repository.load(id);
  }

  @Override
  public Map<String, UsagePlan> loadAll(Collection<String> ids) {
    Map<String, UsagePlan> out = new HashMap<>();
    for (String id : ids) {
      UsagePlan p = repository.load(id);
      if (p != null) {
        out.put(id, p);
      }
    }
    return out;
  }

  @Override
  public Iterable<String> loadAllKeys() {
    return repository.ids();
  }
}
