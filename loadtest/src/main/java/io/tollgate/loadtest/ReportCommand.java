package io.tollgate.loadtest;

import io.tollgate.loadtest.report.ReportWriter;
import io.tollgate.loadtest.report.RunResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Aggregates run files into report.md, report.json and report.html. */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Write report.md, report.json and report.html from a directory of run JSON files.")
final class ReportCommand implements Callable<Integer> {

  @Option(names = "--runs", required = true, description = "directory of run JSON files")
  Path runs;

  @Option(names = "--out", required = true, description = "directory to write the report into")
  Path out;

  @Option(names = "--header", defaultValue = "", description = "text for the top of the report")
  String header;

  @Option(names = "--compare",
      description = "a cross-scenario ratio: 'label|metric|scenarioA/serverA|scenarioB/serverB' (metric: throughput, p50, p99, p999, max, cpu); repeatable")
  List<String> compare = new ArrayList<>();

  @Option(names = "--fail-on-errors", description = "exit 3 when any run had errors or no decisions")
  boolean failOnErrors;

  @Override
  public Integer call() throws Exception {
    List<RunResult> results = ReportWriter.readRuns(runs);
    List<ReportWriter.Comparison> comparisons = new ArrayList<>();
    for (String c : compare) {
      comparisons.add(ReportWriter.Comparison.parse(c));
    }
    ReportWriter writer = new ReportWriter(results, comparisons, header);
    writer.write(out);
    System.out.print(writer.markdown());
    System.out.println("report written to " + out.resolve("report.md") + ", report.json, report.html");
    boolean empty = results.isEmpty() || results.stream().anyMatch(r -> r.decisions() == 0);
    if (failOnErrors && (writer.totalErrors() > 0 || empty)) {
      System.err.println("FAILED: " + writer.totalErrors() + " errors"
          + (empty ? "; a run with no decisions (or no runs)" : ""));
      return 3;
    }
    return 0;
  }
}
