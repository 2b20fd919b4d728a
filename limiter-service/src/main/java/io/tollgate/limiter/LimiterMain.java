package io.tollgate.limiter;

import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.cli.AdminCli;
import io.tollgate.limiter.config.ConfigException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code java -jar limiter-service.jar --config PATH [flags]}. Exits 0 after a SIGTERM or SIGINT
 * shutdown, 1 for a bad config or a start failure, 2 for bad flags.
 *
 * <p>{@code java -jar limiter-service.jar <command> ...} (a first argument not starting with
 * {@code -}) runs an admin command of {@link AdminCli} against a running limiter instead.
 */
public final class LimiterMain {

  /** Held so the level is not lost: JUL keeps loggers only weakly. */
  private static final Logger HAZELCAST_LOG = Logger.getLogger("com.hazelcast");

  private LimiterMain() {}

  public static void main(String[] args) {
    if (args.length > 0 && !args[0].startsWith("-")) {
      System.exit(AdminCli.run(args));
      return;
    }
    System.setProperty("java.util.logging.SimpleFormatter.format",
        "%1$tFT%1$tT.%1$tLZ %4$s %3$s - %5$s%6$s%n");
    // Hazelcast's INFO is a banner and internals; membership changes are logged by GridMember.
    HAZELCAST_LOG.setLevel(Level.WARNING);

    Settings settings = new Settings();
    CommandLine cli = new CommandLine(settings);
    PrintWriter err = new PrintWriter(System.err, true);
    try {
      CommandLine.ParseResult parsed = cli.parseArgs(args);
      if (CommandLine.printHelpIfRequested(parsed)) {
        return;
      }
    } catch (CommandLine.ParameterException e) {
      err.println("error: " + e.getMessage());
      err.println("run with --help for the flags");
      System.exit(2);
      return;
    }
    String problem = settings.problem();
    if (problem != null) {
      err.println("error: " + problem);
      System.exit(2);
      return;
    }
    if (settings.jsonLogs()) {
      for (Handler h : Logger.getLogger("").getHandlers()) {
        h.setFormatter(new JsonLogFormatter());
      }
    }

    // Signals are handled from the start, so a SIGTERM during start-up still ends in an orderly
    // stop. The stop runs on the main thread, which is not a daemon: the JVM cannot exit half-way
    // through it when the last server thread ends.
    CountDownLatch stopRequested = new CountDownLatch(1);
    SignalHandler onSignal = signal -> {
      Logger.getLogger(LimiterMain.class.getName()).info("SIG" + signal.getName()
          + " received; shutting down");
      stopRequested.countDown();
    };
    Signal.handle(new Signal("TERM"), onSignal);
    Signal.handle(new Signal("INT"), onSignal);

    LimiterServer server = new LimiterServer(settings, WallClock.SYSTEM);
    try {
      server.start();
    } catch (ConfigException e) {
      err.println("error: bad config: " + e.getMessage());
      server.stop();
      System.exit(1);
      return;
    } catch (IOException | RuntimeException e) {
      err.println("error: cannot start: " + e);
      server.stop();
      System.exit(1);
      return;
    }
    try {
      stopRequested.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.stop();
    System.exit(0);
  }
}
