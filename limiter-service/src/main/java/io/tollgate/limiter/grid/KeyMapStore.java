package io.tollgate.limiter.grid;

import com.hazelcast.map.MapStore;
import io.tollgate.limiter.persist.KeyRepository;
import io.tollgate.limiter.plan.ApiKey;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Write-through of the keys map (keyed by the hash of the key's value) to the database; every
 * key is loaded when the map starts.
 */
final class KeyMapStore implements MapStore<String, ApiKey> {

  private final KeyRepository repository;

  KeyMapStore(KeyRepository repository) {
    this.repository = repository;
  }

  @Override
  public void store(String hash, ApiKey key) {
    repository.store(key);
  }

  @Override
  public void storeAll(Map<String, ApiKey> keys) {
    keys.values().forEach(repository::store);
  }

  @Override
  public void delete(String hash) {
    repository.delete(hash);
  }

  @Override
  public void deleteAll(Collection<String> hashes) {
    hashes.forEach(repository::delete);
  }

  @Override
  public ApiKey load(String hash) {
    return repository.load(hash);
  }

  @Override
  public Map<String, ApiKey> loadAll(Collection<String> hashes) {
    Map<String, ApiKey> out = new HashMap<>();
    for (String h : hashes) {
      ApiKey k = repository.load(h);
      if (k != null) {
        out.put(h, k);
      }
    }
    return out;
  }

  @Override
  public Iterable<String> loadAllKeys() {
    return repository.hashes();
  }
}
