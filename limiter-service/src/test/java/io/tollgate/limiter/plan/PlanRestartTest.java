package io.tollgate.limiter.plan;

import static io.tollgate.limiter.testing.PlanClient.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.api.v1.ApiStage;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.CreateKeyResponse;
import io.tollgate.api.v1.GetUsageRequest;
import io.tollgate.api.v1.ListKeysRequest;
import io.tollgate.api.v1.ListPlansRequest;
import io.tollgate.api.v1.Quota;
import io.tollgate.api.v1.Throttle;
import io.tollgate.api.v1.UsagePlan;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import io.tollgate.limiter.testing.PlanClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Plans, keys and quota counts survive a restart of a standalone limiter on the embedded
 * database: a graceful stop flushes everything; an abrupt one loses at most the last write
 * delay (1 s) of counts.
 */
class PlanRestartTest {

  @TempDir
  Path dir;

  private LimiterProcess start(Path config, Path data) throws java.io.IOException {
    return LimiterProcess.start("restart", config, FreePorts.next(), "--data-dir",
        data.toString(), "--admin-token", PlanClient.TOKEN).awaitReady(Duration.ofSeconds(90));
  }

  private static String today() {
    return LocalDate.now(ZoneOffset.UTC).toString();
  }

  private static long usage(PlanClient client, String plan) {
    return client.admin().getUsage(GetUsageRequest.newBuilder().setPlanId(plan)
        .setFrom(today()).setTo(today()).build()).getKeys(0).getDays(0).getRequests();
  }

  @Test
  void keysPlansAndQuotaCountsSurviveRestarts() throws Exception {
    Path config = Files.createDirectories(dir.resolve("config"));
    Files.writeString(config.resolve("rules.yaml"), "domain: d\ndescriptors: []\n");
    Path data = dir.resolve("data");

    LimiterProcess first = start(config, data);
    CreateKeyResponse key;
    try (PlanClient client = new PlanClient(first.grpcPort)) {
      client.admin().createPlan(UsagePlan.newBuilder().setId("basic")
          .setThrottle(Throttle.newBuilder().setRate(100).setBurst(100))
          .setQuota(Quota.newBuilder().setLimit(100).setPeriod("MONTH"))
          .addApiStages(ApiStage.newBuilder().setApi("shop").setStage("prod")).build());
      key = client.admin().createKey(CreateKeyRequest.newBuilder().setName("partner")
          .addPlanIds("basic").build());
      for (int i = 0; i < 7; i++) {
        assertTrue(client.check(request(key.getValue(), "shop", "prod", "GET", "/a"))
            .getAllowed());
      }
    }
    assertEquals(0, first.terminate(Duration.ofSeconds(60)), first.log());

    LimiterProcess second = start(config, data);
    try (PlanClient client = new PlanClient(second.grpcPort)) {
      assertEquals(1, client.admin().listPlans(ListPlansRequest.getDefaultInstance())
          .getPlansCount());
      assertEquals(1, client.admin().listKeys(ListKeysRequest.getDefaultInstance())
          .getKeysCount());
      assertEquals(7, usage(client, "basic"));
      CheckResponse r = client.check(request(key.getValue(), "shop", "prod", "GET", "/a"));
      assertTrue(r.getAllowed(), r.toString());
      assertEquals(92, r.getQuota().getRemaining(), "7 counted before the restart, 1 now");
      for (int i = 0; i < 2; i++) {
        client.check(request(key.getValue(), "shop", "prod", "GET", "/a"));
      }
      // Past the write delay (1 s), the counts are in the database even if the process dies.
      Thread.sleep(3_000);
    }
    second.kill();

    LimiterProcess third = start(config, data);
    try (PlanClient client = new PlanClient(third.grpcPort)) {
      assertEquals(10, usage(client, "basic"));
      CheckResponse r = client.check(request(key.getValue(), "shop", "prod", "GET", "/a"));
      assertEquals(89, r.getQuota().getRemaining());
    } finally {
      third.close();
    }
  }
}
