package io.tollgate.loadtest.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tollgate.loadtest.report.RunResult.Interval;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class IntervalSummariesTest {

  private static Histogram ms(long... millis) {
    Histogram h = new Histogram(3);
    for (long m : millis) {
      h.recordValue(m * 1_000_000L);
    }
    return h;
  }

  @Test
  void cutsTicksIntoIntervalsAndKeepsAPartialLastOne() {
    IntervalSummaries s = new IntervalSummaries(3);
    for (int t = 0; t < 7; t++) {
      // The first interval answers in 1 ms, the second in 10 ms, the last tick in 100 ms.
      long latency = t < 3 ? 1 : t < 6 ? 10 : 100;
      s.add(ms(latency, latency), 100, t == 4 ? 2 : 0, 1.0);
    }
    assertEquals(2, s.finishedSoFar().size());
    List<Interval> out = s.finish();
    assertEquals(3, out.size());
    Interval first = out.get(0);
    assertEquals(1, first.index);
    assertEquals(0, first.startSecond, 1e-9);
    assertEquals(3, first.seconds, 1e-9);
    assertEquals(300, first.decisions);
    assertEquals(100, first.throughput, 1e-9);
    assertEquals(1, first.p99Ms, 0.01);
    Interval second = out.get(1);
    assertEquals(3, second.startSecond, 1e-9);
    assertEquals(2, second.errors);
    assertEquals(10, second.p50Ms, 0.01);
    Interval last = out.get(2);
    assertEquals(6, last.startSecond, 1e-9);
    assertEquals(1, last.seconds, 1e-9);
    assertEquals(100, last.maxMs, 0.1);
  }

  @Test
  void aTickSlightlyShortStillClosesTheInterval() {
    IntervalSummaries s = new IntervalSummaries(2);
    s.add(ms(1), 10, 0, 0.999);
    s.add(ms(1), 10, 0, 0.998);
    assertEquals(1, s.finishedSoFar().size());
    assertEquals(0, s.finish().size() - 1);
  }

  @Test
  void refusesANonPositiveLength() {
    assertThrows(IllegalArgumentException.class, () -> new IntervalSummaries(0));
  }
}
