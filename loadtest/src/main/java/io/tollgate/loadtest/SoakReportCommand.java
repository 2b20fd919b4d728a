package io.tollgate.loadtest;

import io.tollgate.loadtest.report.ReportWriter;
import io.tollgate.loadtest.report.RunResult;
import io.tollgate.loadtest.report.SoakReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The soak run's report: per-interval latency, heap and counters-map sizes, verdicts. */
@Command(name = "soak-report", mixinStandardHelpOptions = true,
    description = "Write the soak report (report.md, report.json) from the soak run's JSON, the "
        + "counters-map samples and the heap measurements.")
final class SoakReportCommand implements Callable<Integer> {

  @Option(names = "--run", required = true, description = "the soak run's JSON (run --interval-seconds)")
  Path run;

  @Option(names = "--map-samples", required = true,
      description = "a file of lines 'label seconds entries' (label start, load, end or idle)")
  Path mapSamples;

  @Option(names = "--heap-start-mib", defaultValue = "-1", description = "heap used after a full GC at start")
  double heapStart;

  @Option(names = "--heap-end-mib", defaultValue = "-1", description = "heap used after a full GC at end")
  double heapEnd;

  @Option(names = "--interval-seconds", defaultValue = "60", description = "the run's interval. Default: ${DEFAULT-VALUE}")
  int intervalSeconds;

  @Option(names = "--header", defaultValue = "", description = "text for the top of the report")
  String header;

  @Option(names = "--out", required = true, description = "directory to write the report into")
  Path out;

  @Option(names = "--fail-on-errors", description = "exit 3 when the run had errors or no decisions")
  boolean failOnErrors;

  @Override
  public Integer call() throws Exception {
    RunResult result = ReportWriter.readRun(run);
    List<SoakReport.MapSample> samples = Files.readAllLines(mapSamples).stream()
        .filter(l -> !l.isBlank()).map(SoakReport.MapSample::parse).toList();
    SoakReport report = new SoakReport(result, samples, heapStart, heapEnd, intervalSeconds,
        header);
    report.write(out);
    System.out.print(report.markdown());
    System.out.println("report written to " + out.resolve("report.md") + ", report.json");
    if (failOnErrors && (result.errors + result.abandoned > 0 || result.decisions() == 0)) {
      System.err.println("FAILED: " + result.errors + " errors, " + result.abandoned
          + " abandoned, " + result.decisions() + " decisions");
      return 3;
    }
    return 0;
  }
}
