package io.tollgate.limiter.grid;

import io.tollgate.limiter.algorithm.LimitState;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The limit states of every key that hashes to one bucket, held as one grid entry so that a batch
 * of decisions on many keys is one grid operation. Each state carries the wall-clock millisecond
 * after which it no longer matters; a state past it reads as absent and is dropped by the next
 * sweep.
 *
 * <p>Confined to the partition thread of the bucket's owner (or backup). States are replaced, never
 * changed in place, so a backup processor may carry the instances it was given.
 */
final class CounterBucket {

  /** One key's state and the millisecond from which it is worthless. */
  record Slot(LimitState state, long expiresAtMillis) {}

  private final HashMap<String, Slot> slots;

  CounterBucket() {
    this(new HashMap<>());
  }

  CounterBucket(HashMap<String, Slot> slots) {
    this.slots = slots;
  }

  /** The state of {@code key}, or {@code null} when it has none or it has expired. */
  LimitState live(String key, long nowMillis) {
    Slot s = slots.get(key);
    return s == null || s.expiresAtMillis() <= nowMillis ? null : s.state();
  }

  void put(String key, LimitState state, long expiresAtMillis) {
    slots.put(key, new Slot(state, expiresAtMillis));
  }

  /** Drops every state that has expired by {@code nowMillis}; returns how many remain. */
  int sweep(long nowMillis) {
    Iterator<Slot> it = slots.values().iterator();
    while (it.hasNext()) {
      if (it.next().expiresAtMillis() <= nowMillis) {
        it.remove();
      }
    }
    return slots.size();
  }

  int size() {
    return slots.size();
  }

  /** The slots themselves, for serialization. */
  Map<String, Slot> slots() {
    return slots;
  }
}
