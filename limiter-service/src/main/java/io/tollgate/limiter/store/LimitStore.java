package io.tollgate.limiter.store;

import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import java.util.concurrent.CompletionStage;

/**
 * Atomic decisions on keyed limit state. Each call reads and changes one key's state in one
 * step, with the store's own clock; implementations never block the caller.
 */
public interface LimitStore {

  /**
   * Tries to take {@code permits} units from the limit stored under {@code key}.
   *
   * @param key the storage key; one key holds the state of one algorithm
   * @param algorithm the limit to apply
   * @param permits units to take, zero or more
   * @return the decision; fails with {@link StoreUnavailableException} when the store cannot
   *     answer
   */
  CompletionStage<Decision> acquire(String key, LimitAlgorithm algorithm, long permits);

  /**
   * Gives back the units of an allowed decision that the caller did not use, as far as they still
   * count (see {@link LimitAlgorithm#refund}).
   *
   * @return whether the state changed
   */
  CompletionStage<Boolean> refund(String key, LimitAlgorithm algorithm, Decision decision);

  /**
   * Forgets the state stored under {@code key}: the next acquire sees a full limit, as for a key
   * never used. For an operator; not part of a decision.
   *
   * @return whether the key had state to forget (a store that cannot tell without a second read
   *     answers {@code true}); fails with {@link StoreUnavailableException} when the store cannot
   *     answer
   */
  CompletionStage<Boolean> reset(String key);
}
