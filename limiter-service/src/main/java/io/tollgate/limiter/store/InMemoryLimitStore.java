package io.tollgate.limiter.store;

import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.WallClock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A store in one JVM's memory: each key's state changes inside {@link ConcurrentHashMap#compute},
 * so calls on one key are atomic. State is never expired; use it for tests and tools, not for a
 * long-running service.
 */
public final class InMemoryLimitStore implements LimitStore {

  private final ConcurrentHashMap<String, LimitState> states = new ConcurrentHashMap<>();
  private final WallClock clock;

  /** Creates a store reading time from {@code clock}. */
  public InMemoryLimitStore(WallClock clock) {
    this.clock = java.util.Objects.requireNonNull(clock, "clock");
  }

  @Override
  public CompletionStage<Decision> acquire(String key, LimitAlgorithm algorithm, long permits) {
    Decision[] out = new Decision[1];
    states.compute(key, (k, state) -> {
      LimitState s = state == null ? new LimitState() : state;
      out[0] = algorithm.tryAcquire(s, permits, clock.epochNanos());
      return s;
    });
    return CompletableFuture.completedFuture(out[0]);
  }

  @Override
  public CompletionStage<Boolean> refund(String key, LimitAlgorithm algorithm, Decision decision) {
    boolean[] out = new boolean[1];
    states.computeIfPresent(key, (k, s) -> {
      out[0] = algorithm.refund(s, decision, clock.epochNanos());
      return s;
    });
    return CompletableFuture.completedFuture(out[0]);
  }

  @Override
  public CompletionStage<Boolean> reset(String key) {
    return CompletableFuture.completedFuture(states.remove(key) != null);
  }
}
