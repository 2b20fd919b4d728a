package io.tollgate.loadtest;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code java -jar loadtest.jar COMMAND}: {@code run} one load run, {@code serve} a baseline
 * server, {@code report} the comparison from run files, {@code soak-report} the soak run's report, {@code bench} the JMH benchmarks,
 * {@code await} a server, {@code free-ports} for scripts.
 */
@Command(name = "loadtest", mixinStandardHelpOptions = true,
    description = "Tollgate's load generator, baseline servers and benchmarks.",
    subcommands = {RunCommand.class, ServeCommand.class, ReportCommand.class, SoakReportCommand.class,
        BenchCommand.class,
        AwaitCommand.class, FreePortsCommand.class, CommandLine.HelpCommand.class})
public final class LoadtestMain implements Runnable {

  public static void main(String[] args) {
    // A later option overrides an earlier one, so scripts can append to common options.
    System.exit(new CommandLine(new LoadtestMain()).setOverwrittenOptionsAllowed(true)
        .setExecutionExceptionHandler((e, cmd, parsed) -> {
          if (e instanceof IllegalArgumentException) {
            // Bad option values name themselves; no stack trace.
            cmd.getErr().println("error: " + e.getMessage());
            return 2;
          }
          throw e;
        })
        .execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
