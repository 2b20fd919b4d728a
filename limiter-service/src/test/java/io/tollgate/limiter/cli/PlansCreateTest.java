package io.tollgate.limiter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.api.v1.ApiStage;
import io.tollgate.api.v1.Quota;
import io.tollgate.api.v1.Throttle;
import io.tollgate.api.v1.UsagePlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PlansCreateTest {

  private static UsagePlan plan(String... args) throws Exception {
    CommandLine cli = AdminCli.commandLine(Map.of(), CliRun.CLOCK);
    CommandLine.ParseResult parsed = cli.parseArgs(args);
    while (parsed.hasSubcommand()) {
      parsed = parsed.subcommand();
    }
    PlansCommand.Create create = parsed.commandSpec().commandLine().getCommand();
    return create.plan();
  }

  @Test
  void flagsMakeTheUsagePlan() throws Exception {
    UsagePlan plan = plan("plans", "create", "--id", "basic", "--name", "Basic",
        "--description", "for everyone", "--rate", "5", "--burst", "10", "--quota", "10000",
        "--period", "month", "--offset", "3", "--time-zone", "Europe/Berlin",
        "--stage", "petstore/prod", "--stage", "petstore/beta");
    assertEquals(UsagePlan.newBuilder().setId("basic").setName("Basic")
        .setDescription("for everyone")
        .setThrottle(Throttle.newBuilder().setRate(5).setBurst(10))
        .setQuota(Quota.newBuilder().setLimit(10000).setPeriod("MONTH").setOffset(3)
            .setTimeZone("Europe/Berlin"))
        .addApiStages(ApiStage.newBuilder().setApi("petstore").setStage("prod"))
        .addApiStages(ApiStage.newBuilder().setApi("petstore").setStage("beta"))
        .build(), plan);
  }

  @Test
  void leavesOutThrottleAndQuotaNotGiven() throws Exception {
    UsagePlan plan = plan("plans", "create", "--id", "free", "--stage", "a/b");
    assertEquals(UsagePlan.newBuilder().setId("free")
        .addApiStages(ApiStage.newBuilder().setApi("a").setStage("b")).build(), plan);
  }

  @Test
  void fractionalRateIsKept() throws Exception {
    assertEquals(0.5, plan("plans", "create", "--id", "slow", "--rate", "0.5", "--burst", "1",
        "--stage", "a/b").getThrottle().getRate());
  }

  @Test
  void fileGivesTheWholePlan(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("plan.json");
    Files.writeString(file, "{\"id\": \"gold\", \"throttle\": {\"rate\": 50, \"burst\": 100},"
        + " \"apiStages\": [{\"api\": \"petstore\", \"stage\": \"prod\","
        + " \"methods\": {\"GET /pets/{id}\": {\"rate\": 1, \"burst\": 2}}}]}");
    UsagePlan plan = plan("plans", "create", "--file", file.toString());
    assertEquals("gold", plan.getId());
    assertEquals(2, plan.getApiStages(0).getMethodsOrThrow("GET /pets/{id}").getBurst());
  }

  @Test
  void badFileIsAFailureNamingTheFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("plan.json");
    Files.writeString(file, "{\"id\": \"gold\", \"thrott\": {}}");
    CliRun r = CliRun.run("plans", "create", "--file", file.toString());
    assertEquals(1, r.exitCode(), r.toString());
    assertTrue(r.err().startsWith("error: " + file + " is not a UsagePlan: "), r.toString());
  }

  @Test
  void usageErrorsExitTwoWithTheReason() {
    String[][] cases = {
        {"--rate and --burst go together", "--id", "x", "--rate", "5", "--stage", "a/b"},
        {"--quota needs --period DAY|WEEK|MONTH", "--id", "x", "--quota", "5", "--stage", "a/b"},
        {"--period: 'YEAR' is not DAY, WEEK or MONTH", "--id", "x", "--quota", "5",
            "--period", "YEAR", "--stage", "a/b"},
        {"--period, --offset and --time-zone need --quota", "--id", "x", "--offset", "1",
            "--stage", "a/b"},
        {"--stage: 'petstore' is not API/STAGE, e.g. petstore/prod", "--id", "x",
            "--stage", "petstore"},
        {"--stage: 'a/b/c' is not API/STAGE, e.g. petstore/prod", "--id", "x", "--stage", "a/b/c"},
        {"Missing required option: '--stage=API/STAGE'", "--id", "x"},
        {"Missing required option: '--id' (or --file)", "--stage", "a/b"},
        {"--file: give the whole plan in the file, no other plan flags", "--file", "p.json",
            "--id", "x"},
        {"Invalid value for option '--burst': 'many' is not a long", "--id", "x", "--rate", "1",
            "--burst", "many", "--stage", "a/b"},
    };
    for (String[] c : cases) {
      String[] args = new String[c.length + 1];
      args[0] = "plans";
      args[1] = "create";
      System.arraycopy(c, 1, args, 2, c.length - 1);
      CliRun r = CliRun.run(args);
      assertEquals(2, r.exitCode(), r.toString());
      assertEquals("", r.out(), r.toString());
      assertTrue(r.err().startsWith("error: " + c[0] + "\n"), c[0] + " / " + r);
      assertTrue(r.err().contains("run 'tollgate plans create --help' for usage"), r.toString());
    }
  }
}
