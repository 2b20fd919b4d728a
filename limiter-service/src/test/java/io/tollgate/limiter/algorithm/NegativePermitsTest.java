package io.tollgate.limiter.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** No algorithm takes a negative number of permits: that would hand out units. */
class NegativePermitsTest {

  @Test
  void everyAlgorithmRejectsNegativePermitsAndKeepsItsState() {
    long minute = 60_000_000_000L;
    for (LimitAlgorithm a : List.of(new FixedWindow(5, minute), new SlidingWindow(5, minute),
        new TokenBucket(5, minute, 5))) {
      LimitState state = new LimitState();
      a.tryAcquire(state, 2, 7 * minute);
      LimitState before = state.copy();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> a.tryAcquire(state, -1, 7 * minute), a.kind().toString());
      assertEquals("permits must be >= 0, was -1", e.getMessage());
      assertEquals(before, state, a.kind().toString());
    }
  }
}
