package io.tollgate.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/** Runs the JMH benchmarks with JMH's own command line (e.g. {@code bench -f 1 Algorithm}). */
@Command(name = "bench", description = "Run the JMH benchmarks; arguments go to JMH (try: bench -h).")
final class BenchCommand implements Callable<Integer> {

  /** Everything after {@code bench}, options included, goes to JMH untouched. */
  @Unmatched
  List<String> args = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    org.openjdk.jmh.Main.main(args.toArray(String[]::new));
    return 0;
  }
}
