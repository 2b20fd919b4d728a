package io.tollgate.limiter.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.TokenBucket;
import io.tollgate.limiter.algorithm.WallClock;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.LongAdder;

/**
 * A layer over another store that remembers, on this member, the keys known to be over their
 * limit, and denies them without asking the store until the first moment a unit could be
 * available again.
 *
 * <h2>Implementation notes</h2>
 * A denial is remembered only when it says that not one unit is left ({@code remaining == 0})
 * and its {@code resetAfterNanos} is the time until one unit can exist: for a fixed window and a
 * calendar quota that is the end of the window or period whatever was asked; for a token bucket
 * and a sliding window it is so only for a request of one unit (for more units it is later), so
 * their denials are remembered only for one-unit requests. Until then every request of one unit
 * or more on the key is denied by the store too, so the cached answer is the store's answer.
 *
 * <p>The moment is measured from when the call was sent, not when its answer arrived: the owner
 * decided at or after the send, so the cached denial ends no later than the window it saw.
 *
 * <p>What the cache cannot see: units given back by a refund made on another member (the
 * all-or-nothing hand-back of a request that another limit denied) inside the same window. Such
 * units stay unused here until the window ends: the cache may deny what the store would have
 * allowed, never the reverse. Refunds made through this layer drop the key's entry. A key whose
 * rule changed (a different algorithm under the same key) is not answered from the cache.
 *
 * <p>Report-only calls (zero units) and refunds always go to the store. The cache holds at most
 * {@code maxKeys} keys (least recently used go first); an entry is a key and two references.
 */
public final class OverLimitCache implements LimitStore {

  /** A denial remembered: for which limit, and until when (epoch nanoseconds, store clock). */
  private record Over(LimitAlgorithm algorithm, long limit, long untilNanos) {}

  private final LimitStore store;
  private final WallClock clock;
  private final Cache<String, Over> over;
  private final LongAdder hits = new LongAdder();

  /**
   * @param store the store that decides
   * @param maxKeys the most keys remembered; at least 1
   * @param clock the clock to measure the remembered time with
   */
  public OverLimitCache(LimitStore store, long maxKeys, WallClock clock) {
    this.store = Objects.requireNonNull(store, "store");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxKeys < 1) {
      throw new IllegalArgumentException("maxKeys must be >= 1, was " + maxKeys);
    }
    // No expiry policy: entries are checked against the clock on read and replaced or dropped;
    // the size bound evicts the ones no longer read.
    this.over = Caffeine.newBuilder().maximumSize(maxKeys).build();
  }

  @Override
  public CompletionStage<Decision> acquire(String key, LimitAlgorithm algorithm, long permits) {
    long sentNanos = clock.epochNanos();
    if (permits > 0) {
      Over known = over.getIfPresent(key);
      if (known != null) {
        long left = known.untilNanos() - sentNanos;
        if (left > 0 && sameLimit(known.algorithm(), algorithm)) {
          hits.increment();
          return CompletableFuture.completedFuture(
              new Decision(false, permits, known.limit(), 0, left, 0));
        }
        over.asMap().remove(key, known);
      }
    }
    CompletionStage<Decision> answer = store.acquire(key, algorithm, permits);
    return answer.thenApply(d -> {
      if (!d.allowed() && d.remaining() == 0 && d.resetAfterNanos() > 0
          && (permits == 1 || resetIndependentOfPermits(algorithm) && permits > 0)) {
        over.put(key, new Over(algorithm, d.limit(), sentNanos + d.resetAfterNanos()));
      }
      return d;
    });
  }

  /** Whether two algorithms apply the same limit (rules' instances are reused, overrides not). */
  private static boolean sameLimit(LimitAlgorithm a, LimitAlgorithm b) {
    if (a == b || a.equals(b)) {
      return true;
    }
    if (a.getClass() != b.getClass() || a instanceof CalendarQuota || a.limit() != b.limit()
        || a.windowNanos() != b.windowNanos()) {
      return false;
    }
    return !(a instanceof TokenBucket ta) || ta.rate() == ((TokenBucket) b).rate();
  }

  private static boolean resetIndependentOfPermits(LimitAlgorithm algorithm) {
    return algorithm instanceof FixedWindow || algorithm instanceof CalendarQuota;
  }

  @Override
  public CompletionStage<Boolean> refund(String key, LimitAlgorithm algorithm, Decision decision) {
    over.invalidate(key);
    return store.refund(key, algorithm, decision);
  }

  /**
   * Forgets the key's denial here and its state in the store. Only this member's cache learns of
   * it: another member that remembers a denial of the key keeps denying it until the moment it
   * remembered, at most the rest of the window that denied.
   */
  @Override
  public CompletionStage<Boolean> reset(String key) {
    over.invalidate(key);
    return store.reset(key).thenApply(removed -> {
      // A denial remembered while the reset was in flight describes the state before it.
      over.invalidate(key);
      return removed;
    });
  }

  /** Acquires answered from the cache since it was created. */
  public long hits() {
    return hits.sum();
  }

  /** Keys remembered now (some may have passed their time and not been read since). */
  public long size() {
    return over.estimatedSize();
  }
}
