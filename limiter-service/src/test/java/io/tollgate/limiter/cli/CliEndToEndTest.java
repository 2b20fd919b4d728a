package io.tollgate.limiter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI against a real limiter in this JVM (the example rules and plans, an admin token, a
 * clock that stands still), run in-process with captured output: a plan and a key made with the
 * CLI, checks until throttled, the usage table, a disabled key, and a call without the token.
 */
class CliEndToEndTest {

  private static final String TOKEN = "cli-e2e-admin-token-0123456789ab";
  private static final String[] CHECK = {"check", "--api", "petstore", "--stage", "prod",
      "--method", "GET", "--route", "/pets/{id}", "--key"};

  @TempDir
  static Path config;

  private static InJvmLimiter limiter;
  private static Map<String, String> env;

  @BeforeAll
  static void start() throws Exception {
    try (DirectoryStream<Path> examples = Files.newDirectoryStream(Path.of("..", "deploy",
        "examples"))) {
      for (Path file : examples) {
        Files.copy(file, config.resolve(file.getFileName()));
      }
    }
    // FakeClock's day is CliRun.CLOCK's day, so the usage table's default week holds it.
    limiter = InJvmLimiter.start(config, new FakeClock(), "--admin-token", TOKEN);
    env = Map.of("TOLLGATE_URL", "http://127.0.0.1:" + limiter.httpPort(),
        "RL_ADMIN_TOKEN", TOKEN);
  }

  @AfterAll
  static void stop() throws Exception {
    limiter.close();
  }

  private static CliRun cli(String... args) {
    return CliRun.run(env, args);
  }

  private static CliRun ok(String... args) {
    CliRun r = cli(args);
    assertEquals(0, r.exitCode(), String.join(" ", args) + "\n" + r);
    assertEquals("", r.err(), r.toString());
    return r;
  }

  /** The value after {@code label:} in a detail view. */
  private static String field(String out, String label) {
    for (String line : out.split("\n")) {
      if (line.startsWith(label + ":")) {
        return line.substring(label.length() + 1).strip();
      }
    }
    throw new AssertionError("no " + label + " in\n" + out);
  }

  private static String[] check(String key) {
    String[] args = new String[CHECK.length + 1];
    System.arraycopy(CHECK, 0, args, 0, CHECK.length);
    args[CHECK.length] = key;
    return args;
  }

  @Test
  void planKeyChecksUsageDisableAndNoToken() {
    CliRun created = ok("plans", "create", "--id", "cli-basic", "--name", "CLI basic",
        "--rate", "1", "--burst", "3", "--quota", "100", "--period", "DAY",
        "--stage", "petstore/prod");
    assertEquals("cli-basic", field(created.out(), "id"));
    assertEquals("1/s burst 3", field(created.out(), "throttle"));
    assertEquals("100/DAY", field(created.out(), "quota"));

    String plans = ok("plans", "list").out();
    assertTrue(plans.startsWith("ID "), plans);
    assertTrue(plans.lines().anyMatch(l -> l.startsWith("cli-basic ") && l.endsWith(" api")),
        plans);
    assertTrue(plans.lines().anyMatch(l -> l.startsWith("free ") && l.endsWith(" config")),
        plans);
    assertTrue(ok("plans", "get", "cli-basic", "--json").out().contains("\"id\":\"cli-basic\""));

    CliRun key = ok("keys", "create", "--name", "alice", "--plan", "cli-basic");
    String keyId = field(key.out(), "id");
    String value = field(key.out(), "value");
    assertTrue(value.length() >= 20, key.toString());
    assertTrue(key.out().contains("shown only this once"), key.toString());

    String keys = ok("keys", "list").out();
    assertTrue(keys.lines().anyMatch(l -> l.startsWith(keyId + " ") && l.contains(" alice ")
        && l.contains(" true ") && l.contains(" cli-basic ")), keys);
    assertTrue(ok("keys", "list", "--plan", "cli-basic").out().contains(keyId));

    // Burst 3 and a clock that stands still: three pass, the fourth is throttled.
    for (int i = 0; i < 3; i++) {
      CliRun allowed = cli(check(value));
      assertEquals(0, allowed.exitCode(), allowed.toString());
      assertEquals("true", field(allowed.out(), "allowed"));
      assertEquals("ALLOWED", field(allowed.out(), "reason"));
    }
    CliRun throttled = cli(check(value));
    assertEquals(1, throttled.exitCode(), throttled.toString());
    assertEquals("THROTTLED", field(throttled.out(), "reason"));
    assertTrue(field(throttled.out(), "remaining tokens").startsWith("0 of 3 "),
        throttled.toString());
    assertEquals("97 of 100", field(throttled.out(), "remaining quota").split(" \\(")[0]);
    assertTrue(!field(throttled.out(), "retry after").equals("-"), throttled.toString());

    AtomicReference<String> usage = new AtomicReference<>();
    Awaits.await("usage showing 3 requests", Duration.ofSeconds(10), () -> {
      usage.set(ok("usage", "--plan", "cli-basic").out());
      return usage.get().lines().anyMatch(l -> l.startsWith(keyId + " ")
          && l.matches(".*\\s3\\s+3/100\\s+97\\s+\\S+Z$"));
    });
    assertTrue(usage.get().startsWith("plan cli-basic: requests per UTC day, 2026-11-21 to "
        + "2026-11-27\n"), usage.get());

    CliRun disabled = ok("keys", "disable", keyId);
    assertEquals("false", field(disabled.out(), "enabled"));
    // Other members learn of the change by an event; this one may too, so allow it a moment.
    AtomicReference<CliRun> forbidden = new AtomicReference<>();
    Awaits.await("a FORBIDDEN check", Duration.ofSeconds(10), () -> {
      forbidden.set(cli(check(value)));
      return forbidden.get().out().contains("FORBIDDEN");
    });
    assertEquals(1, forbidden.get().exitCode(), forbidden.get().toString());
    assertEquals("false", field(forbidden.get().out(), "allowed"));

    CliRun noToken = CliRun.run(Map.of("TOLLGATE_URL", env.get("TOLLGATE_URL")),
        "keys", "list");
    assertEquals(1, noToken.exitCode(), noToken.toString());
    assertEquals("", noToken.out());
    assertTrue(noToken.err().startsWith("error: ") && noToken.err().endsWith(" (HTTP 401)\n"),
        noToken.toString());

    CliRun wrongToken = cli("keys", "list", "--token", "not-the-admin-token-at-all-00000");
    assertEquals(1, wrongToken.exitCode(), wrongToken.toString());
    assertTrue(wrongToken.err().endsWith(" (HTTP 401)\n"), wrongToken.toString());

    CliRun missing = cli("plans", "get", "no-such-plan");
    assertEquals(1, missing.exitCode(), missing.toString());
    assertTrue(missing.err().endsWith(" (HTTP 404)\n"), missing.toString());
  }
}
