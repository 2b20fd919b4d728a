package io.tollgate.limiter.persist;

import static io.tollgate.limiter.testing.PlanClient.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.api.v1.ApiStage;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.GetUsageRequest;
import io.tollgate.api.v1.Quota;
import io.tollgate.api.v1.Throttle;
import io.tollgate.api.v1.UsagePlan;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import io.tollgate.limiter.testing.PlanClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two members on one machine share one embedded data directory (the README's second node does
 * this with the default {@code data/}). Both are killed with SIGKILL and started again at the
 * same moment, ten times: every start must succeed, and no count may be lost that the database
 * already had before the previous kill.
 *
 * <p>What "no count lost" can mean here. Quota counts are written behind (one second after they
 * are counted), so counts of the last second before a SIGKILL of every member are lost by
 * design. Beyond that, H2 itself does not keep its last commits across a SIGKILL: measured with
 * H2 2.5, a commit made just before the kill was missing after the next open in about two of
 * three tries when the file is shared. So each round's last writes, although the usage report
 * (which flushes the pending writes and reads the database) showed them before the kill, may be
 * missing after the restart; what the test requires is that counts that were in the database
 * when the members started are never lost, that nothing is counted twice, and that the quota
 * counter and the usage report agree. It prints how many rounds lost their last writes.
 */
class SharedDataDirRestartTest {

  private static final int ROUNDS = 10;
  private static final int CHECKS_PER_ROUND = 3;
  private static final long QUOTA = 1_000;
  private static final Duration READY = Duration.ofSeconds(120);

  @TempDir
  Path dir;

  private final List<LimiterProcess> running = new ArrayList<>();

  @AfterEach
  void stopAll() throws InterruptedException {
    for (LimiterProcess p : running) {
      p.close();
    }
  }

  @Test
  void membersSharingADataDirectoryRestartTogetherAfterSigkill() throws Exception {
    Path config = Files.createDirectories(dir.resolve("config"));
    Files.writeString(config.resolve("rules.yaml"), "domain: d\ndescriptors: []\n");
    Path data = dir.resolve("data");
    int portA = FreePorts.next();
    int portB = FreePorts.next();

    LimiterProcess[] members = startBoth(config, data, portA, portB, 0);
    String key;
    try (PlanClient client = new PlanClient(members[0].grpcPort)) {
      client.admin().createPlan(UsagePlan.newBuilder().setId("basic")
          .setThrottle(Throttle.newBuilder().setRate(1_000).setBurst(1_000))
          .setQuota(Quota.newBuilder().setLimit(QUOTA).setPeriod("MONTH"))
          .addApiStages(ApiStage.newBuilder().setApi("shop").setStage("prod")).build());
      key = client.admin().createKey(CreateKeyRequest.newBuilder().setName("partner")
          .addPlanIds("basic").build()).getValue();
    }

    long stored = 0;
    int roundsLosingLastWrites = 0;
    for (int round = 1; round <= ROUNDS; round++) {
      for (int i = 0; i < CHECKS_PER_ROUND; i++) {
        LimiterProcess via = members[i % 2];
        try (PlanClient client = new PlanClient(via.grpcPort)) {
          CheckResponse r = client.check(request(key, "shop", "prod", "GET", "/a"));
          assertTrue(r.getAllowed(), "round " + round + ": " + r);
          assertEquals(QUOTA - stored - i - 1, r.getQuota().getRemaining(),
              "round " + round + ": the quota counter agrees with the usage report");
        }
      }
      long reported;
      try (PlanClient client = new PlanClient(members[1].grpcPort)) {
        reported = usage(client);
      }
      assertEquals(stored + CHECKS_PER_ROUND, reported, "round " + round + ": before the kill");

      members[0].kill();
      members[1].kill();
      running.clear();
      members = startBoth(config, data, portA, portB, round);

      long survived;
      try (PlanClient client = new PlanClient(members[0].grpcPort)) {
        survived = usage(client);
      }
      try (PlanClient client = new PlanClient(members[1].grpcPort)) {
        assertEquals(survived, usage(client), "round " + round + ": both members agree");
      }
      assertTrue(survived >= stored && survived <= reported, "round " + round + ": "
          + survived + " after the restart; the database had " + stored + " when the members"
          + " started and " + reported + " before the kill");
      if (survived < reported) {
        roundsLosingLastWrites++;
      }
      stored = survived;
    }
    System.out.println("shared data directory: " + ROUNDS + " restarts after SIGKILL, all"
        + " started; rounds whose last writes H2 lost: " + roundsLosingLastWrites);
    try (PlanClient client = new PlanClient(members[0].grpcPort)) {
      CheckResponse r = client.check(request(key, "shop", "prod", "GET", "/a"));
      assertEquals(QUOTA - stored - 1, r.getQuota().getRemaining(),
          "the quota counter agrees with the usage report after the last restart");
    }
  }

  /** Starts both members at the same moment and waits until both serve in one cluster. */
  private LimiterProcess[] startBoth(Path config, Path data, int portA, int portB, int round)
      throws Exception {
    String list = "127.0.0.1:" + portA + ",127.0.0.1:" + portB;
    String cluster = "shared-data-" + portA;
    LimiterProcess a = start("shared-a", config, data, portA, list, cluster);
    LimiterProcess b = start("shared-b", config, data, portB, list, cluster);
    running.add(a);
    running.add(b);
    try {
      a.awaitReady(READY);
      b.awaitReady(READY);
    } catch (AssertionError e) {
      throw new AssertionError("start " + round + ": " + e.getMessage(), e);
    }
    Awaits.await("both members in one cluster", Duration.ofSeconds(90),
        () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 2.0")
            && b.httpGet("/metrics").body().contains("ratelimit_cluster_members 2.0"));
    return new LimiterProcess[] {a, b};
  }

  private static LimiterProcess start(String name, Path config, Path data, int port,
      String members, String cluster) throws java.io.IOException {
    return LimiterProcess.start(name, config, port, "--members", members, "--cluster-name",
        cluster, "--data-dir", data.toString(), "--db-auto-server",
        "--admin-token", PlanClient.TOKEN);
  }

  private static long usage(PlanClient client) {
    String today = LocalDate.now(ZoneOffset.UTC).toString();
    var r = client.admin().getUsage(GetUsageRequest.newBuilder().setPlanId("basic")
        .setFrom(today).setTo(today).build());
    return r.getKeysCount() == 0 ? 0 : r.getKeys(0).getDays(0).getRequests();
  }
}
