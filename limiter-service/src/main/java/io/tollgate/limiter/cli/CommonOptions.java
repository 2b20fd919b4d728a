package io.tollgate.limiter.cli;

import com.google.protobuf.Message;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options every command takes: where the limiter is, the admin token, and whether to print
 * raw JSON. Defaults come from the environment through {@link AdminCli}'s default provider.
 */
final class CommonOptions {

  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(names = "--url", paramLabel = "URL", descriptionKey = "url",
      description = "The limiter's HTTP port (TOLLGATE_URL, default ${DEFAULT-VALUE}).")
  String url;

  @Option(names = "--token", paramLabel = "TOKEN", descriptionKey = "token",
      description = "Admin bearer token (RL_ADMIN_TOKEN; prefer the variable or --token-file: "
          + "flags show in ps).")
  String token;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "File holding the admin token.")
  Path tokenFile;

  @Option(names = "--ca-file", paramLabel = "PEM",
      description = "CA certificate(s) (PEM) to trust for an https:// --url, e.g. the one that "
          + "signed the limiter's --tls-cert (TOLLGATE_CA_FILE; default: the JVM's trusted CAs).")
  Path caFile;

  @Option(names = "--json", description = "Print the server's JSON answer instead of a table.")
  boolean json;

  /** Where the command prints its result. */
  PrintWriter out() {
    return mixee.commandLine().getOut();
  }

  /** A client for the limiter at {@code --url}, with the token of the options. */
  AdminClient client() throws CommandFailure {
    return new AdminClient(root().http(caFile), url, token());
  }

  /**
   * Prints an answer: the body itself with {@code --json}, else what {@code render} makes of it.
   */
  <T extends Message> void show(String body, Message.Builder builder, Function<T, String> render)
      throws CommandFailure {
    if (json) {
      printRaw(body);
    } else {
      T message = AdminClient.parse(body, builder);
      out().print(render.apply(message));
      out().flush();
    }
  }

  /** Prints the server's answer as it came. */
  void printRaw(String body) {
    out().print(body.endsWith("\n") ? body : body + "\n");
    out().flush();
  }

  /** The root command this mixin's command belongs to. */
  AdminCli root() {
    CommandSpec s = mixee;
    while (s.parent() != null) {
      s = s.parent();
    }
    return (AdminCli) s.userObject();
  }

  private String token() throws CommandFailure {
    if (tokenFile != null) {
      if (token != null && mixee.commandLine().getParseResult().hasMatchedOption("--token")) {
        throw new ParameterException(mixee.commandLine(),
            "--token and --token-file: give one, not both");
      }
      try {
        return Files.readString(tokenFile).strip();
      } catch (IOException e) {
        throw new CommandFailure("cannot read --token-file " + tokenFile + ": " + e);
      }
    }
    return token == null || token.isBlank() ? null : token.strip();
  }
}
