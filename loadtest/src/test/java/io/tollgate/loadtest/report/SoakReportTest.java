package io.tollgate.loadtest.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.loadtest.report.RunResult.Interval;
import io.tollgate.loadtest.report.SoakReport.MapSample;
import java.util.List;
import org.junit.jupiter.api.Test;

class SoakReportTest {

  private static RunResult run(double... p99s) {
    RunResult r = new RunResult();
    r.mode = "open";
    r.ratePerSecond = 1000;
    r.keys = "uniform:100000";
    r.measuredSeconds = 60.0 * p99s.length;
    for (int n = 0; n < p99s.length; n++) {
      Interval i = new Interval();
      i.index = n + 1;
      i.startSecond = 60.0 * n;
      i.seconds = 60;
      i.throughput = 1000;
      i.p50Ms = 1;
      i.p99Ms = p99s[n];
      r.intervals.add(i);
    }
    return r;
  }

  private static final List<MapSample> BOUNDED = List.of(new MapSample("start", 0, 10),
      new MapSample("load", 70, 3000), new MapSample("load", 130, 3100),
      new MapSample("end", 190, 3050), new MapSample("idle", 210, 12));

  @Test
  void passesFlatLatencyStableHeapAndEvictedCounters() {
    SoakReport r = new SoakReport(run(2.0, 2.5, 3.9), BOUNDED, 100, 105, 60, "h");
    assertTrue(r.latency().passed());
    assertTrue(r.heap().passed());
    assertTrue(r.map().passed(), r.map().detail());
    assertTrue(r.passed());
    assertTrue(r.markdown().contains("| 3 | 120–180 | 1000 |"), r.markdown());
    assertTrue(r.markdown().contains("3,050"), r.markdown());
  }

  @Test
  void failsGrowingLatencyHeapOrMap() {
    assertFalse(new SoakReport(run(2.0, 3, 4.1), BOUNDED, 100, 105, 60, "").latency().passed());
    assertFalse(new SoakReport(run(2.0, 2.0), BOUNDED, 100, 111, 60, "").heap().passed());
    List<MapSample> growing = List.of(new MapSample("load", 70, 3000),
        new MapSample("end", 190, 9000), new MapSample("idle", 210, 12));
    assertFalse(new SoakReport(run(1, 1), growing, 100, 100, 60, "").map().passed());
    List<MapSample> neverEvicted = List.of(new MapSample("load", 70, 3000),
        new MapSample("end", 190, 3000), new MapSample("idle", 210, 2900));
    assertFalse(new SoakReport(run(1, 1), neverEvicted, 100, 100, 60, "").map().passed());
  }

  @Test
  void aPartialLastIntervalIsNotJudgedAndOneFullIntervalIsNotEnough() {
    RunResult r = run(2.0, 2.0, 100);
    r.intervals.get(2).seconds = 20;
    assertTrue(new SoakReport(r, BOUNDED, 100, 100, 60, "").latency().passed());
    SoakReport one = new SoakReport(run(2.0), BOUNDED, 100, 100, 60, "");
    assertFalse(one.latency().judged());
    assertFalse(one.passed());
    assertTrue(one.markdown().contains("NOT JUDGED latency flat"));
  }

  @Test
  void parsesSampleLines() {
    assertEquals(new MapSample("load", 61.5, 2345), MapSample.parse(" load 61.5 2345\n"));
    assertThrows(IllegalArgumentException.class, () -> MapSample.parse("load 61"));
  }
}
