package io.tollgate.loadtest.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {

  private static RunResult run(String scenario, String server, int round, double throughput,
      double cpu, long latencyMicros) {
    RunResult r = new RunResult();
    r.scenario = scenario;
    r.title = "closed loop";
    r.server = server;
    r.round = round;
    r.mode = "closed";
    r.concurrency = 64;
    r.descriptors = 1;
    r.keys = "uniform:100000";
    r.measuredSeconds = 10;
    r.allowed = (long) (throughput * 10);
    r.throughput = throughput;
    r.cpuMicrosPerDecision = cpu;
    Histogram h = new Histogram(3);
    for (int i = 1; i <= 1000; i++) {
      h.recordValue(latencyMicros * 1000 * i / 500);
    }
    r.setLatency(h);
    return r;
  }

  private static List<RunResult> threeRounds() {
    List<RunResult> runs = new ArrayList<>();
    double[][] t = {{900, 1000}, {1100, 800}, {1000, 1200}};
    for (int round = 1; round <= 3; round++) {
      runs.add(run("closed-1d", "tollgate", round, t[round - 1][0], 20, 500));
      runs.add(run("closed-1d", "echo", round, t[round - 1][1], 10, 250));
    }
    runs.add(run("closed-4d", "tollgate", 1, 450, 40, 900));
    return runs;
  }

  @Test
  void mediansAndSpreadOverRounds() {
    ReportWriter w = new ReportWriter(threeRounds(), List.of(), "test");
    assertArrayEquals(new double[] {1000, 1000, 450}, w.throughputMedians());
    ReportWriter.Group echo = w.groups().get(1);
    assertEquals("echo", echo.server);
    assertEquals(800, echo.stats.get("throughput").min());
    assertEquals(1200, echo.stats.get("throughput").max());
    assertEquals(3, echo.stats.get("throughput").n());
  }

  @Test
  void evenNumberOfRoundsTakesTheMiddleMean() {
    List<RunResult> runs = List.of(run("s", "a", 1, 10, 0, 1), run("s", "a", 2, 20, 0, 1));
    assertEquals(15, new ReportWriter(runs, List.of(), "").throughputMedians()[0]);
  }

  @Test
  void markdownHasTablesRatiosAndComparisons() {
    ReportWriter w = new ReportWriter(threeRounds(),
        List.of(ReportWriter.Comparison.parse("4 vs 1 descriptors|throughput|closed-4d/tollgate|closed-1d/tollgate"),
            ReportWriter.Comparison.parse("missing|p99|nope/tollgate|closed-1d/tollgate")),
        "quick run");
    String md = w.markdown();
    assertTrue(md.contains("| server | throughput | p50 |"), md);
    assertTrue(md.contains("| tollgate | 1000 (900–1100) |"), md);
    // Ratios of medians: throughput 1000/1000, p99 about 2x, CPU 20/10.
    assertTrue(md.contains("| tollgate / echo | 1.00 | 2.00 | 2.00 |"), md);
    assertTrue(md.contains("| 4 vs 1 descriptors | throughput | 0.45 |"), md);
    assertTrue(md.contains("| missing | p99 | not run |"), md);
  }

  @Test
  void writesMarkdownJsonAndSelfContainedHtml(@TempDir Path dir) throws IOException {
    List<RunResult> runs = threeRounds();
    Path runDir = dir.resolve("runs");
    Files.createDirectories(runDir);
    for (int i = 0; i < runs.size(); i++) {
      Files.writeString(runDir.resolve(String.format("%03d.json", i)),
          ReportWriter.toJson(runs.get(i)));
    }
    List<RunResult> read = ReportWriter.readRuns(runDir);
    assertEquals(runs.size(), read.size());
    assertEquals(runs.get(0).p99Ms, read.get(0).p99Ms);
    assertFalse(read.get(0).percentiles.isEmpty());

    ReportWriter w = new ReportWriter(read, List.of(), "header <&>");
    w.write(dir.resolve("out"));
    JsonObject json = JsonParser.parseString(Files.readString(dir.resolve("out/report.json")))
        .getAsJsonObject();
    assertEquals(0, json.get("totalErrors").getAsLong());
    assertEquals(2, json.getAsJsonArray("scenarios").size());
    String html = Files.readString(dir.resolve("out/report.html"));
    assertTrue(html.contains("<svg"));
    assertTrue(html.contains("<polyline"));
    assertTrue(html.contains("header &lt;&amp;&gt;"));
    // Nothing fetched from the network: the only URL is the SVG namespace.
    assertEquals(html.indexOf("http"), html.indexOf("http://www.w3.org/2000/svg"));
    assertFalse(html.contains("<script src"));
    assertTrue(Files.readString(dir.resolve("out/report.md")).startsWith("# Tollgate"));
  }

  @Test
  void countsErrors() {
    List<RunResult> runs = threeRounds();
    runs.get(2).errors = 3;
    runs.get(3).abandoned = 1;
    assertEquals(4, new ReportWriter(runs, List.of(), "").totalErrors());
  }

  @Test
  void rejectsMalformedComparisons() {
    assertThrows(IllegalArgumentException.class, () -> ReportWriter.Comparison.parse("a|b"));
    assertThrows(IllegalArgumentException.class,
        () -> ReportWriter.Comparison.parse("x|speed|a/b|c/d"));
  }

  @Test
  void flagsASaturatedOpenLoopRunButNotOneThatKeptUp() {
    RunResult kept = run("fixed-rate", "tollgate", 1, 990, 50, 500);
    kept.mode = "open";
    kept.ratePerSecond = 1000;
    RunResult behind = run("fixed-rate", "redis", 1, 900, 80, 500);
    behind.mode = "open";
    behind.ratePerSecond = 1000;
    RunResult queued = run("fixed-rate", "echo", 1, 1000, 20, 100_000);
    queued.mode = "open";
    queued.ratePerSecond = 1000;
    assertEquals(null, ReportWriter.saturation(kept));
    assertTrue(ReportWriter.saturation(behind).contains("achieved 900 of 1000 req/s (90%)"));
    assertTrue(ReportWriter.saturation(queued).startsWith("p50 "));
    assertEquals(null, ReportWriter.saturation(run("closed-1d-uniform", "x", 1, 10, 1, 100_000)));
    String md = new ReportWriter(List.of(kept, behind, queued), List.of(), "h").markdown();
    assertTrue(md.contains("**redis: saturated (CPU figure not comparable)**: round 1: achieved"),
        md);
    assertTrue(md.contains("80.0 (saturated)"), md);
    assertFalse(md.contains("**tollgate: saturated"), md);
  }
}
