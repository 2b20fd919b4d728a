package io.tollgate.limiter.decide;

import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.metrics.RuleStats;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.StoreUnavailableException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One decision in flight, the same for every protocol: every limit that applies (a
 * <em>call</em>: a store, a key, an algorithm and a cost) is acquired at once, each on its key's
 * owner; when the protocol's verdict is a denial, or a store failed, the units the others granted
 * are handed back before the answer; then each call's decision is recorded in its rule's meters
 * and the protocol builds its answer from the decisions.
 *
 * <p>A protocol subclasses this once per request kind: it adds its calls ({@link #call}), says
 * when the request is denied ({@link #denied()}) and builds the answer ({@link #answer()}). It
 * never touches a store or a meter itself.
 *
 * <h2>All or nothing</h2>
 * A denied request consumes nothing once its answer is out, and limits are never over-admitted: a
 * unit is only ever granted by a limit that had it. The price is that a concurrent request can,
 * between the grant and the refund (one grid round trip), see those units as taken and be denied
 * where a serial order would have allowed it. Units of a window that ended in between are not
 * given back; they no longer count anyway.
 *
 * <h2>Implementation notes</h2>
 * A request's calls live in parallel arrays sized once ({@link #calls(int)}), so a decision costs
 * a handful of allocations whatever its number of limits, and nothing per call beyond the
 * store's own future and its completion callback. Results are written by the store threads before
 * the {@link AtomicInteger} countdown that publishes them to the thread that finishes.
 *
 * @param <T> the protocol's answer
 */
public abstract class Evaluation<T> {

  private final LimiterMetrics metrics;
  private final double nearLimitRatio;
  private int calls;
  private LimitStore[] stores;
  private String[] keys;
  private LimitAlgorithm[] algorithms;
  private long[] permits;
  /** Per call: where its decision is recorded, or {@code null} for none (plan levels). */
  private RuleStats[] stats;
  /** Per call: whether a denial is only counted and let through. */
  private boolean[] shadow;
  private Decision[] results;
  /** Per call: whether its units were handed back; written before the refunds complete. */
  private boolean[] refunded;
  private volatile Throwable failure;
  private AtomicInteger pending;
  private final CompletableFuture<T> answer = new CompletableFuture<>();

  /**
   * @param metrics where store failures and rule decisions are recorded
   * @param nearLimitRatio the share of a limit above which allowed units count as near it
   */
  protected Evaluation(LimiterMetrics metrics, double nearLimitRatio) {
    this.metrics = metrics;
    this.nearLimitRatio = nearLimitRatio;
  }

  /** Makes room for {@code n} calls; call once, before {@link #call}. */
  protected final void calls(int n) {
    stores = new LimitStore[n];
    keys = new String[n];
    algorithms = new LimitAlgorithm[n];
    permits = new long[n];
    stats = new RuleStats[n];
    shadow = new boolean[n];
    results = new Decision[n];
  }

  /**
   * Adds a call; calls are numbered from 0 in the order added.
   *
   * @param stats where the decision is recorded, or {@code null}
   * @param shadowMode whether a denial of this limit is only counted
   * @return the call's number
   */
  protected final int call(LimitStore store, String key, LimitAlgorithm algorithm, long units,
      RuleStats stats, boolean shadowMode) {
    int c = calls++;
    stores[c] = store;
    keys[c] = key;
    algorithms[c] = algorithm;
    permits[c] = units;
    this.stats[c] = stats;
    shadow[c] = shadowMode;
    return c;
  }

  /** Calls added. */
  protected final int callCount() {
    return calls;
  }

  /**
   * Sends every call at once; the answer completes when all have answered (and, on a denial,
   * been handed back). Never blocks.
   *
   * @return the answer; fails with {@link StoreUnavailableException} when a store did not answer
   *     (the units of calls that answered are handed back)
   */
  public final CompletableFuture<T> start() {
    int n = calls;
    if (n == 0) {
      complete(null);
      return answer;
    }
    pending = new AtomicInteger(n);
    for (int k = 0; k < n; k++) {
      final int call = k;
      try {
        acquire(call).whenComplete((decision, error) -> onResult(call, decision, error));
      } catch (RuntimeException e) {
        onResult(call, null, e);
      }
    }
    return answer;
  }

  /** Sends call {@code k}; a protocol may take more than one step (see {@link UsageReport}). */
  CompletionStage<Decision> acquire(int k) {
    return stores[k].acquire(keys[k], algorithms[k], permits[k]);
  }

  /** The store, key and algorithm of call {@code k}, for subclasses in this package. */
  final LimitStore store(int k) {
    return stores[k];
  }

  final String key(int k) {
    return keys[k];
  }

  final LimitAlgorithm algorithm(int k) {
    return algorithms[k];
  }

  private void onResult(int call, Decision decision, Throwable error) {
    if (error != null) {
      failure = error;
      metrics.storeError(false);
    } else {
      results[call] = decision;
    }
    if (pending.decrementAndGet() == 0) {
      finish();
    }
  }

  private void finish() {
    try {
      Throwable f = failure;
      boolean refund = f != null ? !independent() : denied();
      CompletableFuture<?>[] refunds = refund ? refundGranted() : null;
      if (refunds == null) {
        complete(f);
      } else {
        // Answer only once the units are back, so the caller's next request sees them.
        CompletableFuture.allOf(refunds).whenComplete((ignored, error) -> complete(f));
      }
    } catch (Throwable e) {
      answer.completeExceptionally(e);
    }
  }

  /**
   * Hands back every unit that was granted; a refund that fails is counted, not retried.
   *
   * @return the refunds in flight, or {@code null} when nothing was granted
   */
  private CompletableFuture<?>[] refundGranted() {
    refunded = new boolean[calls];
    CompletableFuture<?>[] refunds = null;
    int r = 0;
    for (int k = 0; k < calls; k++) {
      Decision d = results[k];
      if (d != null && d.allowed() && d.permits() > 0) {
        final int call = k;
        CompletableFuture<Boolean> f;
        try {
          f = stores[k].refund(keys[k], algorithms[k], d).toCompletableFuture();
        } catch (RuntimeException e) {
          f = CompletableFuture.failedFuture(e);
        }
        if (refunds == null) {
          refunds = new CompletableFuture<?>[calls - k];
        }
        refunds[r++] = f.whenComplete((changed, error) -> {
          if (error != null) {
            metrics.storeError(true);
          } else {
            refunded[call] = true;
          }
        });
      }
    }
    return refunds == null || r == refunds.length ? refunds : java.util.Arrays.copyOf(refunds, r);
  }

  private void complete(Throwable f) {
    try {
      if (f == null || independent()) {
        for (int k = 0; k < calls; k++) {
          RuleStats s = stats[k];
          Decision d = results[k];
          if (s != null && d != null) {
            record(s, k, d, (long) Math.floor(d.limit() * nearLimitRatio));
          }
        }
      }
      if (f != null) {
        answer.completeExceptionally(new StoreUnavailableException(
            "the limit store did not answer: " + rootMessage(f), f));
        return;
      }
      answer.complete(answer());
    } catch (Throwable e) {
      answer.completeExceptionally(e);
    }
  }

  /**
   * Whether calls stand alone: a failed call then hands nothing back, and the others are still
   * recorded (usage already admitted elsewhere). Otherwise the request is all or nothing.
   */
  boolean independent() {
    return false;
  }

  /** Units call {@code k} asked for. */
  final long permitsOf(int k) {
    return permits[k];
  }

  /** Records call {@code k}'s decision in its rule's meters. */
  void record(RuleStats s, int k, Decision d, long nearThreshold) {
    s.record(d.permits(), d.allowed(), shadow[k], d.used(), nearThreshold);
  }

  /**
   * The protocol's verdict, once every call has answered: whether the request is denied, in
   * which case every granted unit is handed back. Called once, before {@link #answer()}.
   */
  protected abstract boolean denied();

  /** The protocol's answer, built from the decisions; called once, last. */
  protected abstract T answer();

  /** Call {@code k}'s decision; valid in {@link #denied()} and {@link #answer()}. */
  protected final Decision decision(int k) {
    return results[k];
  }

  /** Whether call {@code k} denied and is not in shadow mode. */
  protected final boolean deniedAt(int k) {
    return !results[k].allowed() && !shadow[k];
  }

  /** Whether call {@code k}'s units were handed back. */
  protected final boolean refunded(int k) {
    return refunded != null && refunded[k];
  }

  /** Units left for call {@code k}, counting units handed back by a refund. */
  protected final long remaining(int k) {
    Decision d = results[k];
    return refunded(k) ? d.remaining() + d.permits() : d.remaining();
  }

  /**
   * The deciding call among {@code [from, to)}: the first that denied outside shadow mode, else
   * the one with the fewest units left (the first of equals); {@code -1} for an empty range.
   */
  protected final int decisive(int from, int to) {
    int decisive = -1;
    boolean decisiveDenied = false;
    for (int c = from; c < to; c++) {
      boolean deniedHere = deniedAt(c);
      if (decisive < 0 || (deniedHere && !decisiveDenied)
          || (deniedHere == decisiveDenied && remaining(c) < remaining(decisive))) {
        decisive = c;
        decisiveDenied = deniedHere;
      }
    }
    return decisive;
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage());
  }
}
