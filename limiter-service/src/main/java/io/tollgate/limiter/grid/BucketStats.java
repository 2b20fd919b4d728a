package io.tollgate.limiter.grid;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntPredicate;

/**
 * How many limit states each bucket held at its last sweep on this member, as owner and as
 * backup. One per member; sweep processors receive it through the member's managed context.
 * A record older than three sweeps is ignored (the bucket has moved away from this member).
 */
final class BucketStats {

  /** A processor that records into the member's stats. */
  interface Aware {
    void setBucketStats(BucketStats stats);
  }

  private static final long STALE_NANOS =
      java.util.concurrent.TimeUnit.SECONDS.toNanos(3L * BucketedLimitStore.SWEEP_SECONDS);

  /** A bucket's size and when it was recorded ({@link System#nanoTime}). */
  private record Size(int states, long at) {}

  private final Map<Integer, Size> owned = new ConcurrentHashMap<>();
  private final Map<Integer, Size> backups = new ConcurrentHashMap<>();

  void record(int bucket, int size, boolean backup) {
    (backup ? backups : owned).put(bucket, new Size(size, System.nanoTime()));
  }

  /** States in the buckets {@code ownedHere} accepts, as their owner's last sweep found them. */
  long owned(IntPredicate ownedHere) {
    return sum(owned, ownedHere, true);
  }

  /** States in backup replicas on this member of buckets it does not own. */
  long backups(IntPredicate ownedHere) {
    return sum(backups, ownedHere, false);
  }

  private static long sum(Map<Integer, Size> sizes, IntPredicate ownedHere, boolean want) {
    long now = System.nanoTime();
    long n = 0;
    for (Map.Entry<Integer, Size> e : sizes.entrySet()) {
      if (now - e.getValue().at() <= STALE_NANOS && ownedHere.test(e.getKey()) == want) {
        n += e.getValue().states();
      }
    }
    return n;
  }
}
