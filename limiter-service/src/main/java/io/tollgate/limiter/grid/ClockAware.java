package io.tollgate.limiter.grid;

import io.tollgate.limiter.algorithm.WallClock;

/**
 * A processor that reads the member's clock. The member's managed context hands each processor
 * the clock it was started with before the processor runs.
 */
interface ClockAware {

  void setClock(WallClock clock);
}
