package io.tollgate.limiter.persist;

import java.util.Collections;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A key's quota counter in a plan, with its recent daily usage.
 *
 * @param planId the plan
 * @param keyId the key's public id (not its hash)
 * @param periodStart when the counted period started, in epoch seconds
 * @param used requests counted in that period
 * @param days requests per UTC day, keyed by epoch day ({@link java.time.LocalDate#toEpochDay});
 *     {@code null} reads as none. Storing a record replaces each of these days' counts and leaves
 *     other days alone
 */
public record QuotaRecord(String planId, String keyId, long periodStart, long used,
    SortedMap<Long, Long> days) {

  public QuotaRecord {
    Objects.requireNonNull(planId, "planId");
    Objects.requireNonNull(keyId, "keyId");
    days = days == null
        ? Collections.emptySortedMap()
        : Collections.unmodifiableSortedMap(new TreeMap<>(days));
  }
}
