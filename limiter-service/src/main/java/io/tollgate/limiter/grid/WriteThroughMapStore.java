package io.tollgate.limiter.grid;

import com.hazelcast.map.MapStore;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Write-through of a catalog map (plans by id, keys by hash) to its repository. Entries are read
 * on a miss; nothing is loaded up front, and listings read the database directly (see
 * {@link HazelcastCatalog}).
 *
 * @param <V> the stored value
 */
final class WriteThroughMapStore<V> implements MapStore<String, V> {

  private final Function<String, V> load;
  private final Consumer<V> store;
  private final Consumer<String> delete;

  WriteThroughMapStore(Function<String, V> load, Consumer<V> store, Consumer<String> delete) {
    this.load = load;
    this.store = store;
    this.delete = delete;
  }

  @Override
  public void store(String key, V value) {
    store.accept(value);
  }

  @Override
  public void storeAll(Map<String, V> values) {
    values.values().forEach(store);
  }

  @Override
  public void delete(String key) {
    delete.accept(key);
  }

  @Override
  public void deleteAll(Collection<String> keys) {
    keys.forEach(delete);
  }

  @Override
  public V load(String key) {
    return load.apply(key);
  }

  @Override
  public Map<String, V> loadAll(Collection<String> keys) {
    Map<String, V> out = new HashMap<>();
    for (String k : keys) {
      V v = load.apply(k);
      if (v != null) {
        out.put(k, v);
      }
    }
    return out;
  }

  @Override
  public Iterable<String> loadAllKeys() {
    return null;
  }
}
