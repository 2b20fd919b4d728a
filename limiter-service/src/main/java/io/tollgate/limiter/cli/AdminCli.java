package io.tollgate.limiter.cli;

import java.io.PrintWriter;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code tollgate <command> ...}: the admin commands against a running limiter's HTTP admin
 * API. Exit codes: 0 done (for {@code check}: allowed), 1 failed (for {@code check}: denied), 2
 * bad usage.
 */
@Command(name = "tollgate", scope = CommandLine.ScopeType.INHERIT,
    mixinStandardHelpOptions = true,
    usageHelpWidth = 100, versionProvider = AdminCli.Version.class,
    subcommands = {PlansCommand.class, KeysCommand.class, UsageCommand.class,
        CheckCommand.class, CountersCommand.class, CommandLine.HelpCommand.class},
    description = {"Admin commands against a running Tollgate limiter's HTTP admin API.",
        "(Without a command, java -jar limiter-service.jar starts the limiter.)"})
public final class AdminCli {

  /** A limiter on this machine with the default --http-port. */
  static final String DEFAULT_URL = "http://127.0.0.1:8080";

  /** Connecting is quick or it is not happening: a firewall that drops packets should not hang. */
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  private final Map<String, String> env;
  private final Clock clock;
  private HttpClient http;

  private AdminCli(Map<String, String> env, Clock clock) {
    this.env = env;
    this.clock = clock;
  }

  /** Runs a command with the process's streams and environment, then exits with its code. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs a command with the process's streams, environment and clock; returns its exit code. */
  public static int run(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true);
    PrintWriter err = new PrintWriter(System.err, true);
    return run(args, out, err, System.getenv(), Clock.systemUTC());
  }

  /**
   * Runs a command.
   *
   * @param args the command and its arguments, e.g. {@code plans list --json}
   * @param out where results go
   * @param err where errors and usage messages go
   * @param env the environment: {@code TOLLGATE_URL}, {@code RL_ADMIN_TOKEN}
   * @param clock today's date for {@code usage} defaults
   * @return the exit code: 0 done (check: allowed), 1 failed (check: denied), 2 bad usage
   */
  public static int run(String[] args, PrintWriter out, PrintWriter err, Map<String, String> env,
      Clock clock) {
    CommandLine cli = commandLine(env, clock);
    cli.setOut(out);
    cli.setErr(err);
    try {
      return cli.execute(args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  /** The command tree, with the environment-backed defaults and the error handling. */
  static CommandLine commandLine(Map<String, String> env, Clock clock) {
    CommandLine cli = new CommandLine(new AdminCli(env, clock));
    cli.setDefaultValueProvider(arg -> defaultValue(arg, env));
    // A key name or value may start with '@'; it is not a file of arguments.
    cli.setExpandAtFiles(false);
    cli.setParameterExceptionHandler((e, args) -> {
      PrintWriter err = e.getCommandLine().getErr();
      err.println("error: " + e.getMessage());
      CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
      err.println("run '" + e.getCommandLine().getCommandSpec().qualifiedName()
          + " --help' for usage");
      return 2;
    });
    cli.setExecutionExceptionHandler((e, command, parsed) -> {
      PrintWriter err = command.getErr();
      if (e instanceof CommandFailure) {
        err.println("error: " + e.getMessage());
      } else {
        err.println("error: " + e);
      }
      return 1;
    });
    return cli;
  }

  /** {@code --url} and {@code --token} default to the environment; nothing else does. */
  private static String defaultValue(ArgSpec arg, Map<String, String> env) {
    if (!(arg instanceof OptionSpec option)) {
      return null;
    }
    return switch (option.longestName()) {
      case "--url" -> {
        String url = env.get("TOLLGATE_URL");
        yield url == null || url.isBlank() ? DEFAULT_URL : url;
      }
      case "--token" -> env.get("RL_ADMIN_TOKEN");
      case "--ca-file" -> env.get("TOLLGATE_CA_FILE");
      default -> null;
    };
  }

  /** The jar's version, where the manifest names one. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = AdminCli.class.getPackage().getImplementationVersion();
      return new String[] {"tollgate " + (v == null ? "(development build)" : v)};
    }
  }

  /** Today's clock, for date defaults. */
  Clock clock() {
    return clock;
  }

  /**
   * One HTTP client per run, made on first use; for {@code https://} it trusts the certificates
   * in {@code caFile}, or the JVM's trusted CAs when that is {@code null}.
   */
  synchronized HttpClient http(Path caFile) throws CommandFailure {
    if (http == null) {
      HttpClient.Builder b = HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(CONNECT_TIMEOUT);
      if (caFile != null) {
        b.sslContext(trusting(caFile));
      }
      http = b.build();
    }
    return http;
  }

  private static SSLContext trusting(Path caFile) throws CommandFailure {
    try (InputStream in = Files.newInputStream(caFile)) {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      int n = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("ca-" + n++, c);
      }
      if (n == 0) {
        throw new CommandFailure("--ca-file " + caFile + " holds no PEM certificate");
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(
          TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new CommandFailure("cannot read --ca-file " + caFile + ": " + e.getMessage());
    }
  }
}
