package io.tollgate.loadtest;

import io.tollgate.loadtest.generate.KeySampler;
import io.tollgate.loadtest.generate.LoadGenerator;
import io.tollgate.loadtest.generate.ProcCpu;
import io.tollgate.loadtest.generate.RunSettings;
import io.tollgate.loadtest.report.ReportWriter;
import io.tollgate.loadtest.report.RunResult;
import io.tollgate.loadtest.target.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** One run against one target: warm-up, measured phase, a JSON result file. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Drive one target open- or closed-loop and write the result as JSON.")
final class RunCommand implements Callable<Integer> {

  @Mixin
  TargetOptions target = new TargetOptions();

  @Option(names = "--mode", defaultValue = "closed",
      description = "open (fixed arrival rate, latency from intended send time) or closed (C calls in flight). Default: ${DEFAULT-VALUE}")
  String mode;

  @Option(names = "--rate", defaultValue = "1000", description = "open: requests per second. Default: ${DEFAULT-VALUE}")
  double rate;

  @Option(names = {"-c", "--concurrency"}, defaultValue = "64",
      description = "closed: calls in flight. Default: ${DEFAULT-VALUE}")
  int concurrency;

  @Option(names = "--max-in-flight", defaultValue = "10000",
      description = "open: sends wait while this many calls are open. Default: ${DEFAULT-VALUE}")
  int maxInFlight;

  @Option(names = "--warmup", defaultValue = "25", description = "warm-up seconds. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(names = "--duration", defaultValue = "30", description = "measured seconds. Default: ${DEFAULT-VALUE}")
  int duration;

  @Option(names = "--descriptors", defaultValue = "1", description = "descriptors per request. Default: ${DEFAULT-VALUE}")
  int descriptors;

  @Option(names = "--keys", defaultValue = "uniform:100000",
      description = "uniform:N, zipf:N:S or single. Default: ${DEFAULT-VALUE}")
  String keys;

  @Option(names = "--seed", defaultValue = "1", description = "random seed. Default: ${DEFAULT-VALUE}")
  long seed;

  @Option(names = "--cpu-pid", split = ",",
      description = "server process ids whose CPU time (utime+stime) over the measured phase is reported per decision")
  List<Long> cpuPids = new ArrayList<>();

  @Option(names = "--scenario", defaultValue = "adhoc", description = "scenario id for the report")
  String scenario;

  @Option(names = "--title", defaultValue = "", description = "scenario title for the report")
  String title;

  @Option(names = "--server", defaultValue = "server", description = "server name for the report")
  String server;

  @Option(names = "--round", defaultValue = "1", description = "round number for the report")
  int round;

  @Option(names = "--interval-seconds", defaultValue = "0",
      description = "also summarize every this many measured seconds (a soak's minutes) into the "
          + "result's intervals; 0: not. Default: ${DEFAULT-VALUE}")
  int intervalSeconds;

  @Option(names = "--out", description = "write the result JSON here")
  Path out;

  @Option(names = "--fail-on-errors", description = "exit 3 when any call failed")
  boolean failOnErrors;

  @Override
  public Integer call() throws Exception {
    RunSettings settings = new RunSettings("open".equals(mode), rate, concurrency, maxInFlight,
        warmup, duration, descriptors, KeySampler.parse(keys), seed);
    if (!mode.equals("open") && !mode.equals("closed")) {
      throw new IllegalArgumentException("--mode: expected open or closed, was '" + mode + "'");
    }
    RunResult result;
    String started = Instant.now().toString();
    try (Target t = target.open()) {
      System.out.println("run " + scenario + " / " + server + " round " + round + ": " + t.describe()
          + ", " + mode + (settings.openLoop() ? " " + rate + " req/s" : " c=" + concurrency)
          + ", " + descriptors + " descriptor(s), keys " + keys);
      result = new LoadGenerator(t, settings, System.out, cpuPids, new ProcCpu()).intervals(intervalSeconds)
          .run();
      result.target = t.describe();
    }
    result.scenario = scenario;
    result.title = title;
    result.server = server;
    result.round = round;
    result.startedAt = started;
    System.out.println(String.format(Locale.ROOT,
        "result %s / %s: %.0f decisions/s, p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms, allowed %d, "
            + "denied %d, errors %d%s%s",
        scenario, server, result.throughput, result.p50Ms, result.p99Ms, result.p999Ms,
        result.maxMs, result.allowed, result.denied, result.errors,
        result.errorReasons.isEmpty() ? "" : " " + result.errorReasons,
        cpuPids.isEmpty() ? "" : String.format(Locale.ROOT, ", CPU %.1f µs/decision",
            result.cpuMicrosPerDecision)));
    if (out != null) {
      if (out.getParent() != null) {
        Files.createDirectories(out.getParent());
      }
      Files.writeString(out, ReportWriter.toJson(result));
    }
    return failOnErrors && (result.errors > 0 || result.decisions() == 0) ? 3 : 0;
  }
}
