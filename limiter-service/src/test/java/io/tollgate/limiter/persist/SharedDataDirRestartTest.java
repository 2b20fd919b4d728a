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
 * same moment, ten times: every start must succeed and no count that reached the database before
 * the kill may be lost.
 *
 * <p>Quota counts are written behind (one second after they are counted), so counts made in the
 * last second before a SIGKILL of every member may be lost by design. What must never be lost is
 * a count the database already had: here the usage report, which flushes the pending writes on
 * every member and reads the database, says how many counts were stored before each kill, and
 * after each restart both the report and the quota counter must show exactly that many.
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
    for (int round = 1; round <= ROUNDS; round++) {
      for (int i = 0; i < CHECKS_PER_ROUND; i++) {
        LimiterProcess via = members[i % 2];
        try (PlanClient client = new PlanClient(via.grpcPort)) {
          CheckResponse r = client.check(request(key, "shop", "prod", "GET", "/a"));
          assertTrue(r.getAllowed(), "round " + round + ": " + r);
          assertEquals(QUOTA - stored - i - 1, r.getQuota().getRemaining(), "round " + round);
        }
      }
      stored += CHECKS_PER_ROUND;
      try (PlanClient client = new PlanClient(members[1].grpcPort)) {
        assertEquals(stored, usage(client), "round " + round + ": usage before the kill");
      }

      members[0].kill();
      members[1].kill();
      running.clear();
      members = startBoth(config, data, portA, portB, round);

      for (LimiterProcess m : members) {
        try (PlanClient client = new PlanClient(m.grpcPort)) {
          assertEquals(stored, usage(client), "round " + round + ": usage after the restart");
        }
      }
    }
    try (PlanClient client = new PlanClient(members[0].grpcPort)) {
      CheckResponse r = client.check(request(key, "shop", "prod", "GET", "/a"));
      assertEquals(QUOTA - stored - 1, r.getQuota().getRemaining(),
          "every count stored before a kill is still counted");
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
