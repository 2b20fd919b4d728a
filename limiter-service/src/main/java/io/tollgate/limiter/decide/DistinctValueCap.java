package io.tollgate.limiter.decide;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.rule.RateLimitRule;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A cap on the distinct counters one rule may create on this member. A rule keyed by a free value
 * ({@code remote_address} with no value, or a wildcard) creates one counter per value; a caller
 * sending random values would create counters without bound. Past the cap, new values of that rule
 * share one overflow counter: the flood is limited as if it were one caller, and the store stops
 * growing. Values already known keep their own counter.
 *
 * <h2>Implementation notes</h2>
 * Per rule (by identity, held weakly, so a reload's old rules are dropped with their sets), the
 * first key seen is kept in a field: a rule on a path of fixed values has exactly one key, and
 * costs a string comparison per call. A second distinct key starts a bounded Caffeine set of the
 * keys seen, each forgotten after it is idle for twice the rule's window (at least a minute), by
 * the injected clock (at the cap, expired keys are dropped at most once a second); a forgotten key
 * that comes back counts as new. The size test and the insert
 * are not one atomic step, so concurrent first sightings may pass the cap by a few; the set's
 * maximum size (the cap) bounds memory regardless. The overflow key starts with {@code ~}, which
 * neither a rule key (a digit) nor a plan key ({@code @}) can.
 */
public final class DistinctValueCap {

  /** No cap: every value gets its own counter. */
  public static final DistinctValueCap OFF = new DistinctValueCap(0, WallClock.SYSTEM, r -> {});

  private static final long MIN_IDLE_NANOS = TimeUnit.MINUTES.toNanos(1);
  private static final long CLEAN_UP_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final long maxValues;
  private final Ticker ticker;
  private final Consumer<RateLimitRule> capped;
  private final Cache<RateLimitRule, Values> rules;

  /**
   * @param maxValues distinct keys per rule on this member; 0 for no cap
   * @param clock the clock idle keys are forgotten by
   * @param capped told of every call sent to a rule's overflow counter
   */
  public DistinctValueCap(long maxValues, WallClock clock, Consumer<RateLimitRule> capped) {
    if (maxValues < 0) {
      throw new IllegalArgumentException("maxValues must be >= 0, was " + maxValues);
    }
    this.maxValues = maxValues;
    this.ticker = clock::epochNanos;
    this.capped = capped;
    this.rules = Caffeine.newBuilder().weakKeys().executor(Runnable::run).build();
  }

  /**
   * The key {@code rule}'s counter goes by: {@code key} itself, or the rule's overflow key when the
   * rule has {@code maxValues} other keys in use on this member.
   */
  public String admit(String domain, RateLimitRule rule, String key) {
    if (maxValues == 0) {
      return key;
    }
    Values v = rules.getIfPresent(rule);
    if (v == null) {
      v = rules.get(rule, r -> new Values(r, key));
    }
    if (v.admits(key)) {
      return key;
    }
    capped.accept(rule);
    return overflowKey(domain, rule);
  }

  /** The one counter a rule's values past the cap share. */
  static String overflowKey(String domain, RateLimitRule rule) {
    StringBuilder sb = new StringBuilder(64).append('~');
    sb.append(domain.length()).append(':').append(domain);
    sb.append(rule.statKey().length()).append(':').append(rule.statKey());
    return sb.append(rule.tag()).toString();
  }

  /** The keys of one rule. */
  private final class Values {
    private final String first;
    private volatile Cache<String, Boolean> others;
    private final long idleNanos;
    /** When expired keys were last dropped at the cap; racy by design (a hint, not a lock). */
    private long lastCleanUpNanos = Long.MIN_VALUE / 2;

    Values(RateLimitRule rule, String first) {
      this.first = first;
      this.idleNanos = Math.max(MIN_IDLE_NANOS, 2 * rule.unit().nanos());
    }

    boolean admits(String key) {
      if (key.equals(first)) {
        return true;
      }
      Cache<String, Boolean> seen = others;
      if (seen == null) {
        synchronized (this) {
          seen = others;
          if (seen == null) {
            seen = Caffeine.newBuilder().maximumSize(maxValues).ticker(ticker)
                .expireAfterAccess(idleNanos, TimeUnit.NANOSECONDS)
                .executor(Runnable::run).build();
            others = seen;
          }
        }
      }
      if (seen.getIfPresent(key) != null) {
        return true;
      }
      // The first key holds a place too. At the cap, expired keys are dropped at most once a
      // second, so a flood at the cap costs a lookup and a size read per call.
      if (seen.estimatedSize() + 1 >= maxValues) {
        long now = ticker.read();
        if (now - lastCleanUpNanos < CLEAN_UP_EVERY_NANOS) {
          return false;
        }
        lastCleanUpNanos = now;
        seen.cleanUp();
        if (seen.estimatedSize() + 1 >= maxValues) {
          return false;
        }
      }
      seen.put(key, Boolean.TRUE);
      return true;
    }
  }
}
