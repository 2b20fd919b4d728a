package io.tollgate.loadtest.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Turns the runs of a comparison into {@code report.md}, {@code report.json} and
 * {@code report.html}: per scenario and server the median over rounds and the spread (min to
 * max), then Tollgate's ratio to every other server of the same scenario (throughput, p99, CPU per
 * decision), then any cross-scenario comparisons asked for.
 *
 * <p>The server named {@code tollgate} is the subject of a scenario's ratios (else the first whose
 * name starts with {@code tollgate}); it is compared with every other server of the scenario.
 */
public final class ReportWriter {

  static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
      .create();

  /** A ratio of medians between two (scenario, server) groups. */
  public record Comparison(String label, String metric, String scenarioA, String serverA,
      String scenarioB, String serverB) {

    /** Parses {@code label|metric|scenarioA/serverA|scenarioB/serverB}. */
    public static Comparison parse(String spec) {
      String[] p = spec.split("\\|");
      if (p.length != 4 || !p[2].contains("/") || !p[3].contains("/")) {
        throw new IllegalArgumentException(
            "compare: expected 'label|metric|scenarioA/serverA|scenarioB/serverB', was '" + spec + "'");
      }
      if (!METRICS.containsKey(p[1])) {
        throw new IllegalArgumentException("compare: unknown metric '" + p[1] + "' (expected one of "
            + METRICS.keySet() + ")");
      }
      String[] a = p[2].split("/", 2);
      String[] b = p[3].split("/", 2);
      return new Comparison(p[0], p[1], a[0], a[1], b[0], b[1]);
    }
  }

  /** Median and spread of one metric over the rounds of a group. */
  public record Stat(double median, double min, double max, int n) {
    static Stat of(List<RunResult> runs, ToDoubleFunction<RunResult> f) {
      double[] v = runs.stream().mapToDouble(f).sorted().toArray();
      if (v.length == 0) {
        return new Stat(Double.NaN, Double.NaN, Double.NaN, 0);
      }
      double median = v.length % 2 == 1 ? v[v.length / 2]
          : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
      return new Stat(median, v[0], v[v.length - 1], v.length);
    }
  }

  /** An open-loop run that achieved less than this share of its target rate was saturated. */
  static final double SATURATED_RATE_SHARE = 0.97;
  /** An open-loop run whose median latency is above this (ms) was queueing: saturated. */
  static final double SATURATED_P50_MS = 50;

  /**
   * Why an open-loop run was saturated (its server could not keep up with the target rate, so
   * requests queued and its CPU per decision is not comparable with a server that kept up), or
   * {@code null} when it kept up or is not an open-loop run.
   */
  public static String saturation(RunResult r) {
    if (!"open".equals(r.mode) || !(r.ratePerSecond > 0)) {
      return null;
    }
    List<String> why = new ArrayList<>();
    if (r.throughput < SATURATED_RATE_SHARE * r.ratePerSecond) {
      why.add(String.format(Locale.ROOT, "achieved %.0f of %.0f req/s (%.0f%%)", r.throughput,
          r.ratePerSecond, 100 * r.throughput / r.ratePerSecond));
    }
    if (r.p50Ms > SATURATED_P50_MS) {
      why.add(String.format(Locale.ROOT, "p50 %.1f ms", r.p50Ms));
    }
    return why.isEmpty() ? null : String.join(", ", why);
  }

  static final Map<String, ToDoubleFunction<RunResult>> METRICS = new LinkedHashMap<>();

  static {
    METRICS.put("throughput", r -> r.throughput);
    METRICS.put("p50", r -> r.p50Ms);
    METRICS.put("p99", r -> r.p99Ms);
    METRICS.put("p999", r -> r.p999Ms);
    METRICS.put("max", r -> r.maxMs);
    METRICS.put("cpu", r -> r.cpuMicrosPerDecision);
  }

  /** One (scenario, server) group. */
  public static final class Group {
    public final String scenario;
    public final String title;
    public final String server;
    public final List<RunResult> runs = new ArrayList<>();
    public final Map<String, Stat> stats = new LinkedHashMap<>();
    public long errors;
    public long allowed;
    public long denied;
    /** One line per saturated round ({@link #saturation}); empty when every round kept up. */
    public final List<String> saturated = new ArrayList<>();

    Group(String scenario, String title, String server) {
      this.scenario = scenario;
      this.title = title;
      this.server = server;
    }

    /** The run whose throughput is the median's (or nearest), for the plot. */
    RunResult medianRun() {
      double median = stats.get("throughput").median();
      RunResult best = runs.get(0);
      for (RunResult r : runs) {
        if (Math.abs(r.throughput - median) < Math.abs(best.throughput - median)) {
          best = r;
        }
      }
      return best;
    }
  }

  private final List<RunResult> runs;
  private final List<Comparison> comparisons;
  private final String header;
  private final List<Group> groups = new ArrayList<>();

  /**
   * @param runs every run, in the order they were made
   * @param comparisons cross-scenario ratios to add
   * @param header a line or two for the top of the report (what ran, where, when)
   */
  public ReportWriter(List<RunResult> runs, List<Comparison> comparisons, String header) {
    this.runs = runs;
    this.comparisons = comparisons;
    this.header = header;
    Map<String, Group> byKey = new LinkedHashMap<>();
    for (RunResult r : runs) {
      Group g = byKey.computeIfAbsent(r.scenario + "\u0000" + r.server,
          k -> new Group(r.scenario, r.title, r.server));
      g.runs.add(r);
    }
    for (Group g : byKey.values()) {
      for (Map.Entry<String, ToDoubleFunction<RunResult>> m : METRICS.entrySet()) {
        g.stats.put(m.getKey(), Stat.of(g.runs, m.getValue()));
      }
      for (RunResult r : g.runs) {
        g.errors += r.errors;
        g.allowed += r.allowed;
        g.denied += r.denied;
        String why = saturation(r);
        if (why != null) {
          g.saturated.add("round " + r.round + ": " + why);
        }
      }
      groups.add(g);
    }
  }

  /** One run as its JSON file. */
  public static String toJson(RunResult result) {
    return GSON.toJson(result);
  }

  /** Reads one run file. */
  public static RunResult readRun(Path file) throws IOException {
    return GSON.fromJson(Files.readString(file), RunResult.class);
  }

  /** Reads every {@code *.json} run file of a directory, sorted by name. */
  public static List<RunResult> readRuns(Path dir) throws IOException {
    List<Path> files;
    try (var s = Files.list(dir)) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
    }
    List<RunResult> out = new ArrayList<>();
    for (Path f : files) {
      out.add(GSON.fromJson(Files.readString(f), RunResult.class));
    }
    return out;
  }

  public List<Group> groups() {
    return groups;
  }

  /** Total errors over every run. */
  public long totalErrors() {
    return runs.stream().mapToLong(r -> r.errors + r.abandoned).sum();
  }

  /** Writes report.md, report.json and report.html into {@code dir}. */
  public void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("report.md"), markdown());
    Files.writeString(dir.resolve("report.json"), json());
    Files.writeString(dir.resolve("report.html"), html());
  }

  private List<String> scenarios() {
    List<String> out = new ArrayList<>();
    for (Group g : groups) {
      if (!out.contains(g.scenario)) {
        out.add(g.scenario);
      }
    }
    return out;
  }

  private List<Group> groupsOf(String scenario) {
    return groups.stream().filter(g -> g.scenario.equals(scenario)).toList();
  }

  private Group find(String scenario, String server) {
    for (Group g : groups) {
      if (g.scenario.equals(scenario) && g.server.equals(server)) {
        return g;
      }
    }
    return null;
  }

  /** The ratios of the subject (first tollgate* server) to each other server of a scenario. */
  private List<String[]> ratios(String scenario) {
    List<Group> gs = groupsOf(scenario);
    Group subject = gs.stream().filter(g -> g.server.equals("tollgate")).findFirst()
        .orElse(gs.stream().filter(g -> g.server.startsWith("tollgate")).findFirst().orElse(null));
    List<String[]> rows = new ArrayList<>();
    if (subject == null) {
      return rows;
    }
    for (Group g : gs) {
      if (g == subject) {
        continue;
      }
      rows.add(new String[] {subject.server + " / " + g.server,
          ratio(subject, g, "throughput"), ratio(subject, g, "p99"), ratio(subject, g, "cpu")});
    }
    return rows;
  }

  private static String ratio(Group a, Group b, String metric) {
    double x = a.stats.get(metric).median();
    double y = b.stats.get(metric).median();
    if (!(y > 0) || !(x >= 0)) {
      return "–";
    }
    return String.format(Locale.ROOT, "%.2f", x / y);
  }

  /** The report as Markdown. */
  public String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("# Tollgate load comparison\n\n").append(header).append("\n\n");
    md.append("Figures are medians over rounds, with the spread (min–max) in brackets. ")
        .append("Throughput is decisions per second; latencies in ms (open loop: from the intended ")
        .append("send time); CPU is server CPU time (all its processes) per decision in µs.\n\n");
    for (String scenario : scenarios()) {
      List<Group> gs = groupsOf(scenario);
      RunResult first = gs.get(0).runs.get(0);
      md.append("## ").append(scenario).append(first.title.isEmpty() ? "" : ": " + first.title)
          .append("\n\n");
      md.append(String.format(Locale.ROOT, "%s loop, %s, %d descriptor(s)/request, keys %s, "
              + "warm-up %d s, measured %.0f s, rounds %d%n%n",
          first.mode, first.mode.equals("open")
              ? String.format(Locale.ROOT, "%.0f req/s", first.ratePerSecond)
              : first.concurrency + " in flight",
          first.descriptors, first.keys, first.warmupSeconds, first.measuredSeconds,
          gs.get(0).runs.size()));
      md.append("| server | throughput | p50 | p90 | p99 | p99.9 | max | CPU/decision µs | allowed | denied | errors |\n");
      md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
      for (Group g : gs) {
        md.append("| ").append(g.server)
            .append(" | ").append(cell(g.stats.get("throughput"), "%.0f"))
            .append(" | ").append(cell(g.stats.get("p50"), "%.3f"))
            .append(" | ").append(cell(Stat.of(g.runs, r -> r.p90Ms), "%.3f"))
            .append(" | ").append(cell(g.stats.get("p99"), "%.3f"))
            .append(" | ").append(cell(g.stats.get("p999"), "%.3f"))
            .append(" | ").append(cell(g.stats.get("max"), "%.3f"))
            .append(" | ").append(cpuCell(g))
            .append(" | ").append(g.allowed)
            .append(" | ").append(g.denied)
            .append(" | ").append(g.errors).append(" |\n");
      }
      for (Group g : gs) {
        if (!g.saturated.isEmpty()) {
          md.append("\n**").append(g.server).append(": saturated (CPU figure not comparable)**: ")
              .append(String.join("; ", g.saturated)).append(String.format(Locale.ROOT,
                  " (kept up means at least %.0f%% of the target rate and p50 at most %.0f ms).",
                  100 * SATURATED_RATE_SHARE, SATURATED_P50_MS)).append('\n');
        }
      }
      List<String[]> ratios = ratios(scenario);
      if (!ratios.isEmpty()) {
        md.append("\n| ratio | throughput | p99 | CPU/decision |\n|---|---|---|---|\n");
        for (String[] row : ratios) {
          md.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
      }
      md.append('\n');
    }
    if (!comparisons.isEmpty()) {
      md.append("## Comparisons across scenarios\n\n| comparison | metric | ratio |\n|---|---|---|\n");
      for (Comparison c : comparisons) {
        Group a = find(c.scenarioA(), c.serverA());
        Group b = find(c.scenarioB(), c.serverB());
        md.append("| ").append(c.label()).append(" | ").append(c.metric()).append(" | ")
            .append(a == null || b == null ? "not run" : ratio(a, b, c.metric())).append(" |\n");
      }
      md.append('\n');
    }
    return md.toString();
  }

  private static String cpuCell(Group g) {
    if (!(g.stats.get("cpu").median() > 0)) {
      return "–";
    }
    return cell(g.stats.get("cpu"), "%.1f") + (g.saturated.isEmpty() ? "" : " (saturated)");
  }

  private static String cell(Stat s, String format) {
    if (s.n() == 0 || Double.isNaN(s.median())) {
      return "–";
    }
    String m = String.format(Locale.ROOT, format, s.median());
    if (s.n() == 1) {
      return m;
    }
    return m + " (" + String.format(Locale.ROOT, format, s.min()) + "–"
        + String.format(Locale.ROOT, format, s.max()) + ")";
  }

  /** The report as JSON: every group's stats and runs (without histograms), ratios, comparisons. */
  public String json() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("header", header);
    root.put("totalErrors", totalErrors());
    List<Object> scenarios = new ArrayList<>();
    for (String scenario : scenarios()) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("scenario", scenario);
      List<Object> servers = new ArrayList<>();
      for (Group g : groupsOf(scenario)) {
        Map<String, Object> gm = new LinkedHashMap<>();
        gm.put("server", g.server);
        gm.put("rounds", g.runs.size());
        gm.put("allowed", g.allowed);
        gm.put("denied", g.denied);
        gm.put("errors", g.errors);
        gm.put("saturated", g.saturated);
        gm.put("stats", g.stats);
        List<Object> rs = new ArrayList<>();
        for (RunResult r : g.runs) {
          Map<String, Object> rm = new LinkedHashMap<>();
          rm.put("round", r.round);
          rm.put("throughput", r.throughput);
          rm.put("p50Ms", r.p50Ms);
          rm.put("p90Ms", r.p90Ms);
          rm.put("p99Ms", r.p99Ms);
          rm.put("p999Ms", r.p999Ms);
          rm.put("maxMs", r.maxMs);
          rm.put("cpuMicrosPerDecision", r.cpuMicrosPerDecision);
          rm.put("allowed", r.allowed);
          rm.put("denied", r.denied);
          rm.put("errors", r.errors);
          rm.put("errorReasons", r.errorReasons);
          rs.add(rm);
        }
        gm.put("runs", rs);
        servers.add(gm);
      }
      s.put("servers", servers);
      List<Object> ratios = new ArrayList<>();
      for (String[] row : ratios(scenario)) {
        ratios.add(Map.of("pair", row[0], "throughput", row[1], "p99", row[2], "cpu", row[3]));
      }
      s.put("ratios", ratios);
      scenarios.add(s);
    }
    root.put("scenarios", scenarios);
    List<Object> cs = new ArrayList<>();
    for (Comparison c : comparisons) {
      Group a = find(c.scenarioA(), c.serverA());
      Group b = find(c.scenarioB(), c.serverB());
      Map<String, Object> cm = new LinkedHashMap<>();
      cm.put("label", c.label());
      cm.put("metric", c.metric());
      cm.put("ratio", a == null || b == null ? "not run" : ratio(a, b, c.metric()));
      cs.add(cm);
    }
    root.put("comparisons", cs);
    return GSON.toJson(root);
  }

  private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
      "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"};

  /** The report as a self-contained HTML page: the Markdown's tables and an SVG percentile plot per scenario. */
  public String html() {
    StringBuilder h = new StringBuilder();
    h.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Tollgate load comparison</title>\n")
        .append("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;}")
        .append("table{border-collapse:collapse;margin:1em 0;}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;}")
        .append("td:first-child,th:first-child{text-align:left;}pre{white-space:pre-wrap;}</style></head><body>\n");
    h.append("<h1>Tollgate load comparison</h1>\n<p>").append(escape(header)).append("</p>\n");
    for (String scenario : scenarios()) {
      List<Group> gs = groupsOf(scenario);
      h.append("<h2>").append(escape(scenario)).append(gs.get(0).title.isEmpty() ? ""
          : ": " + escape(gs.get(0).title)).append("</h2>\n");
      h.append("<table><tr><th>server</th><th>throughput</th><th>p50 ms</th><th>p99 ms</th>")
          .append("<th>p99.9 ms</th><th>max ms</th><th>CPU/decision µs</th><th>errors</th></tr>\n");
      for (Group g : gs) {
        h.append("<tr><td>").append(escape(g.server)).append("</td><td>")
            .append(cell(g.stats.get("throughput"), "%.0f")).append("</td><td>")
            .append(cell(g.stats.get("p50"), "%.3f")).append("</td><td>")
            .append(cell(g.stats.get("p99"), "%.3f")).append("</td><td>")
            .append(cell(g.stats.get("p999"), "%.3f")).append("</td><td>")
            .append(cell(g.stats.get("max"), "%.3f")).append("</td><td>")
            .append(cpuCell(g))
            .append("</td><td>").append(g.errors).append("</td></tr>\n");
      }
      h.append("</table>\n");
      for (Group g : gs) {
        if (!g.saturated.isEmpty()) {
          h.append("<p><b>").append(escape(g.server))
              .append(": saturated (CPU figure not comparable)</b>: ")
              .append(escape(String.join("; ", g.saturated))).append("</p>\n");
        }
      }
      List<String[]> ratios = ratios(scenario);
      if (!ratios.isEmpty()) {
        h.append("<table><tr><th>ratio</th><th>throughput</th><th>p99</th><th>CPU/decision</th></tr>\n");
        for (String[] row : ratios) {
          h.append("<tr>");
          for (String c : row) {
            h.append("<td>").append(escape(c)).append("</td>");
          }
          h.append("</tr>\n");
        }
        h.append("</table>\n");
      }
      h.append(plot(gs));
    }
    h.append("<h2>Markdown</h2>\n<pre>").append(escape(markdown())).append("</pre>\n");
    h.append("</body></html>\n");
    return h.toString();
  }

  /**
   * A latency-by-percentile plot of each server's median round: x is the percentile on the usual
   * {@code 1 / (1 - p)} log scale (50, 90, 99, 99.9, ...), y the latency on a log scale.
   */
  static String plot(List<Group> gs) {
    int width = 760;
    int height = 360;
    int left = 70;
    int bottom = 40;
    int top = 20;
    int right = 160;
    double maxX = 5; // up to 99.999
    double minY = Double.MAX_VALUE;
    double maxY = 0;
    for (Group g : gs) {
      for (double[] p : g.medianRun().percentiles) {
        if (p[1] > 0) {
          minY = Math.min(minY, p[1]);
          maxY = Math.max(maxY, p[1]);
        }
      }
    }
    if (maxY == 0) {
      return "<p>(no latencies recorded)</p>\n";
    }
    double lo = Math.floor(Math.log10(minY));
    double hi = Math.ceil(Math.log10(maxY));
    if (hi <= lo) {
      hi = lo + 1;
    }
    int plotW = width - left - right;
    int plotH = height - top - bottom;
    StringBuilder s = new StringBuilder();
    s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width)
        .append("\" height=\"").append(height).append("\" font-size=\"11\">\n");
    s.append("<rect x=\"").append(left).append("\" y=\"").append(top).append("\" width=\"")
        .append(plotW).append("\" height=\"").append(plotH)
        .append("\" fill=\"none\" stroke=\"#999\"/>\n");
    String[] xLabels = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"};
    for (int i = 0; i <= 5; i++) {
      double x = left + plotW * i / maxX;
      s.append(String.format(Locale.ROOT,
          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>"
              + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
          x, top, x, top + plotH, x, top + plotH + 15, xLabels[i]));
    }
    for (double e = lo; e <= hi; e++) {
      double y = top + plotH - plotH * (e - lo) / (hi - lo);
      s.append(String.format(Locale.ROOT,
          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
              + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s ms</text>\n",
          left, y, left + plotW, y, left - 5, y + 4, trim(Math.pow(10, e))));
    }
    s.append(String.format(Locale.ROOT,
        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">percentile</text>\n",
        left + plotW / 2, height - 5));
    int i = 0;
    for (Group g : gs) {
      String color = COLORS[i % COLORS.length];
      StringBuilder points = new StringBuilder();
      for (double[] p : g.medianRun().percentiles) {
        double q = Math.min(p[0], 99.999) / 100;
        double x = left + plotW * Math.min(maxX, Math.log10(1 / (1 - q))) / maxX;
        double v = Math.max(p[1], Math.pow(10, lo));
        double y = top + plotH - plotH * (Math.log10(v) - lo) / (hi - lo);
        points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
      }
      s.append("<polyline fill=\"none\" stroke=\"").append(color)
          .append("\" stroke-width=\"1.5\" points=\"").append(points).append("\"/>\n");
      s.append(String.format(Locale.ROOT,
          "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>"
              + "<text x=\"%d\" y=\"%d\">%s</text>\n",
          left + plotW + 10, top + 10 + 16 * i, color, left + plotW + 26, top + 14 + 16 * i,
          escape(g.server)));
      i++;
    }
    s.append("</svg>\n");
    return s.toString();
  }

  private static String trim(double v) {
    if (v >= 1) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    return String.format(Locale.ROOT, "%s", Double.toString(v).replaceAll("0+$", ""));
  }

  static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }

  /** For tests: the groups' throughput medians in order. */
  double[] throughputMedians() {
    return groups.stream().mapToDouble(g -> g.stats.get("throughput").median()).toArray();
  }

  @Override
  public String toString() {
    return "ReportWriter" + Arrays.toString(throughputMedians());
  }
}
