package io.tollgate.loadtest.report;

import io.tollgate.loadtest.report.RunResult.Interval;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The soak run's report (issue 5: "flat latency, no memory growth, map sizes bounded"): a table
 * per interval (a minute by default) of rate and latency with the counters map's size, the heap
 * after a full GC at start and end, and three verdicts:
 *
 * <ul>
 *   <li>latency flat: p99 of the last full interval at most {@link #MAX_P99_GROWTH} times that of
 *       the first full interval (a partial interval at the end is shown, not judged);
 *   <li>no memory growth: heap used after a full GC at the end at most {@link #MAX_HEAP_GROWTH}
 *       above the start;
 *   <li>map bounded: the size sampled at the end of the load at most {@link #MAX_MAP_GROWTH} times
 *       the first sample under load, and, once the load stopped and the windows expired, at most
 *       {@link #MAX_IDLE_SHARE} of the peak: expired counters are evicted, not just overwritten.
 * </ul>
 */
public final class SoakReport {

  static final double MAX_P99_GROWTH = 2.0;
  static final double MAX_HEAP_GROWTH = 0.10;
  static final double MAX_MAP_GROWTH = 1.25;
  static final double MAX_IDLE_SHARE = 0.10;

  /**
   * One sample of the counters map.
   *
   * @param label {@code start} (before the load), {@code load} (under load), {@code end} (the
   *     load's last moment) or {@code idle} (after the load stopped)
   * @param seconds seconds since the soak run started
   * @param entries counter entries (primaries) in the member
   */
  public record MapSample(String label, double seconds, long entries) {

    /** Parses a line {@code label seconds entries} (whitespace-separated). */
    public static MapSample parse(String line) {
      String[] p = line.trim().split("\\s+");
      if (p.length != 3) {
        throw new IllegalArgumentException("map sample: expected 'label seconds entries', was '"
            + line + "'");
      }
      return new MapSample(p[0], Double.parseDouble(p[1]), (long) Double.parseDouble(p[2]));
    }
  }

  /** A verdict: passed or not, and why, in one line. */
  public record Verdict(String name, boolean passed, boolean judged, String detail) {
    String line() {
      return (judged ? (passed ? "PASS" : "FAIL") : "NOT JUDGED") + " " + name + ": " + detail;
    }
  }

  private final RunResult run;
  private final List<MapSample> samples;
  private final double heapStartMib;
  private final double heapEndMib;
  private final int intervalSeconds;
  private final String header;

  public SoakReport(RunResult run, List<MapSample> samples, double heapStartMib,
      double heapEndMib, int intervalSeconds, String header) {
    this.run = run;
    this.samples = samples;
    this.heapStartMib = heapStartMib;
    this.heapEndMib = heapEndMib;
    this.intervalSeconds = intervalSeconds;
    this.header = header;
  }

  /** The intervals that lasted (nearly) the full interval length. */
  List<Interval> fullIntervals() {
    return run.intervals.stream().filter(i -> i.seconds >= intervalSeconds - 1.0).toList();
  }

  public Verdict latency() {
    List<Interval> full = fullIntervals();
    if (full.size() < 2) {
      return new Verdict("latency flat", false, false, full.size()
          + " full interval(s) of " + intervalSeconds + " s: two are needed to compare");
    }
    Interval first = full.get(0);
    Interval last = full.get(full.size() - 1);
    boolean ok = first.p99Ms > 0 && last.p99Ms <= MAX_P99_GROWTH * first.p99Ms;
    return new Verdict("latency flat", ok, true, String.format(Locale.ROOT,
        "p99 %.3f ms in the last full interval (%d) vs %.3f ms in the first (%d): %.2fx "
            + "(limit %.1fx)", last.p99Ms, last.index, first.p99Ms, first.index,
        first.p99Ms > 0 ? last.p99Ms / first.p99Ms : Double.NaN, MAX_P99_GROWTH));
  }

  public Verdict heap() {
    if (!(heapStartMib > 0) || !(heapEndMib >= 0)) {
      return new Verdict("no memory growth", false, false, "heap not measured (no jcmd?)");
    }
    double growth = (heapEndMib - heapStartMib) / heapStartMib;
    return new Verdict("no memory growth", growth < MAX_HEAP_GROWTH, true, String.format(
        Locale.ROOT, "heap used after a full GC %.0f MiB at start, %.0f MiB at end: %+.1f%% "
            + "(limit +%.0f%%)", heapStartMib, heapEndMib, 100 * growth, 100 * MAX_HEAP_GROWTH));
  }

  public Verdict map() {
    List<MapSample> load = samples.stream().filter(s -> s.label().equals("load")).toList();
    MapSample end = samples.stream().filter(s -> s.label().equals("end")).reduce((a, b) -> b)
        .orElse(null);
    MapSample idle = samples.stream().filter(s -> s.label().equals("idle"))
        .reduce((a, b) -> b).orElse(null);
    if (load.isEmpty() || end == null || idle == null) {
      return new Verdict("map size bounded", false, false,
          "not enough samples of the counters map (is /metrics reachable?)");
    }
    long firstUnderLoad = load.get(0).entries();
    long peak = samples.stream().mapToLong(MapSample::entries).max().orElse(0);
    boolean flat = end.entries() <= MAX_MAP_GROWTH * Math.max(1, firstUnderLoad);
    boolean evicted = idle.entries() <= MAX_IDLE_SHARE * peak;
    return new Verdict("map size bounded", flat && evicted, true, String.format(Locale.ROOT,
        "%,d entries at the first sample under load, %,d at the end of the load (limit %.2fx), "
            + "peak %,d; %,d after %.0f s without load (limit %.0f%% of the peak: expired "
            + "counters evicted)", firstUnderLoad, end.entries(), MAX_MAP_GROWTH, peak,
        idle.entries(), idle.seconds() - end.seconds(), 100 * MAX_IDLE_SHARE));
  }

  public List<Verdict> verdicts() {
    return List.of(latency(), heap(), map());
  }

  /** Passed when every verdict was judged and passed. */
  public boolean passed() {
    return verdicts().stream().allMatch(v -> v.judged() && v.passed());
  }

  /** The map size sampled closest after the end of an interval, or -1. */
  private long entriesAt(double seconds) {
    long best = -1;
    double bestDistance = Double.MAX_VALUE;
    for (MapSample s : samples) {
      if (s.label().equals("start") || s.label().equals("idle")) {
        continue;
      }
      double d = Math.abs(s.seconds() - seconds);
      if (d < bestDistance && d <= Math.max(5, intervalSeconds / 4.0)) {
        bestDistance = d;
        best = s.entries();
      }
    }
    return best;
  }

  public String markdown() {
    StringBuilder md = new StringBuilder("# Tollgate soak run\n\n").append(header).append("\n\n");
    md.append(String.format(Locale.ROOT, "Open loop at %.0f req/s, keys %s, %d s warm-up, "
            + "%.0f s measured in intervals of %d s; latency from the intended send time (ms). "
            + "Overall: %.0f req/s, p50 %.3f, p99 %.3f, p99.9 %.3f, max %.3f ms; allowed %d, "
            + "denied %d, errors %d.%n%n", run.ratePerSecond, run.keys, run.warmupSeconds,
        run.measuredSeconds, intervalSeconds, run.throughput, run.p50Ms, run.p99Ms, run.p999Ms,
        run.maxMs, run.allowed, run.denied, run.errors));
    md.append("## Verdict\n\n");
    for (Verdict v : verdicts()) {
      md.append("* ").append(v.line()).append('\n');
    }
    md.append("\nOverall: ").append(passed() ? "PASS" : "NOT PASSED").append("\n\n");
    md.append("## Per interval\n\n| interval | seconds | req/s | p50 | p99 | p99.9 | max | errors "
        + "| map entries at its end |\n|---|---|---|---|---|---|---|---|---|\n");
    for (Interval i : run.intervals) {
      long entries = entriesAt(run.warmupSeconds + i.startSecond + i.seconds);
      md.append(String.format(Locale.ROOT, "| %d | %.0f–%.0f | %.0f | %.3f | %.3f | %.3f | %.3f "
              + "| %d | %s |%n", i.index, i.startSecond, i.startSecond + i.seconds, i.throughput,
          i.p50Ms, i.p99Ms, i.p999Ms, i.maxMs, i.errors, entries < 0 ? "–"
              : String.format(Locale.ROOT, "%,d", entries)));
    }
    md.append("\n## Counters map samples\n\nSeconds from the start of the soak run (warm-up "
        + "included); entries are the member's primaries (`ratelimit_counters_owned_entries`).\n\n"
        + "| when | second | entries |\n|---|---|---|\n");
    for (MapSample s : samples) {
      md.append(String.format(Locale.ROOT, "| %s | %.0f | %,d |%n", s.label(), s.seconds(),
          s.entries()));
    }
    md.append(String.format(Locale.ROOT, "%n## Heap%n%nUsed after a full GC: %s MiB at start, "
        + "%s MiB at end.%n", fmt(heapStartMib), fmt(heapEndMib)));
    return md.toString();
  }

  private static String fmt(double mib) {
    return mib >= 0 ? String.format(Locale.ROOT, "%.0f", mib) : "–";
  }

  public String json() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("header", header);
    root.put("passed", passed());
    List<Object> vs = new ArrayList<>();
    for (Verdict v : verdicts()) {
      vs.add(v);
    }
    root.put("verdicts", vs);
    root.put("heapStartMib", heapStartMib);
    root.put("heapEndMib", heapEndMib);
    root.put("mapSamples", samples);
    root.put("intervals", run.intervals);
    root.put("rate", run.ratePerSecond);
    root.put("throughput", run.throughput);
    root.put("errors", run.errors);
    return ReportWriter.GSON.toJson(root);
  }

  public void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("report.md"), markdown());
    Files.writeString(dir.resolve("report.json"), json());
  }
}
