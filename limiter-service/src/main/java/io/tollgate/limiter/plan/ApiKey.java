package io.tollgate.limiter.plan;

import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;

/**
 * An API key as stored: never its value, only the value's hash.
 *
 * @param id the public identifier (letters, digits, '-' and '_')
 * @param name display name
 * @param hash {@link ApiKeys#hash} of the value
 * @param enabled a disabled key is FORBIDDEN
 * @param planIds the plans the key is in, sorted
 * @param createdAt when the key was created
 * @param declared whether the key comes from the YAML config (read-only through the API)
 */
public record ApiKey(String id, String name, String hash, boolean enabled, Set<String> planIds,
    Instant createdAt, boolean declared) {

  public ApiKey {
    planIds = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(planIds));
  }

  /** A copy with {@code enabled} changed. */
  public ApiKey withEnabled(boolean value) {
    return new ApiKey(id, name, hash, value, planIds, createdAt, declared);
  }

  /** A copy with another name. */
  public ApiKey withName(String value) {
    return new ApiKey(id, value, hash, enabled, planIds, createdAt, declared);
  }

  /** A copy with other plans. */
  public ApiKey withPlans(Set<String> value) {
    return new ApiKey(id, name, hash, enabled, value, createdAt, declared);
  }
}
