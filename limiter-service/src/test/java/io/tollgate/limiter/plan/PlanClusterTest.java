package io.tollgate.limiter.plan;

import static io.tollgate.limiter.testing.PlanClient.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CheckResponse.Reason;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.CreateKeyResponse;
import io.tollgate.api.v1.GetUsageRequest;
import io.tollgate.api.v1.GetUsageResponse;
import io.tollgate.api.v1.KeyUsage;
import io.tollgate.api.v1.UpdateKeyRequest;
import io.tollgate.api.v1.UpdateUsageRequest;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import io.tollgate.limiter.testing.PlanClient;
import io.tollgate.limiter.testing.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two limiter processes (separate JVMs, one grid) on a real PostgreSQL: a quota is exact across
 * both members under 32 concurrent callers, a key disabled through one member is refused by the
 * other at once, the loss of one member loses no count, and a full restart of the cluster keeps
 * keys and counts. The quota is monthly so that the real clock cannot roll it over mid-test.
 */
class PlanClusterTest {

  private static final String PLANS = """
      usage_plans:
        - id: gold
          throttle: {rate: 1000, burst: 1000}
          quota: {limit: 10, period: MONTH}
          api_stages:
            - {api: shop, stage: prod}
      """;

  @TempDir
  Path dir;

  private PostgresServer postgres;
  private final List<LimiterProcess> processes = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (LimiterProcess p : processes) {
      p.close();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  private LimiterProcess[] startCluster(Path config, String dbUrl, int portA, int portB,
      String name) throws Exception {
    String members = "127.0.0.1:" + portA + ",127.0.0.1:" + portB;
    LimiterProcess a = member("a", config, dbUrl, portA, members, name);
    LimiterProcess b = member("b", config, dbUrl, portB, members, name);
    a.awaitReady(Duration.ofSeconds(90));
    b.awaitReady(Duration.ofSeconds(90));
    awaitMembers(a, 2);
    awaitMembers(b, 2);
    return new LimiterProcess[] {a, b};
  }

  private LimiterProcess member(String id, Path config, String dbUrl, int port, String members,
      String name) throws Exception {
    LimiterProcess p = LimiterProcess.start("plans-" + id, config, port, "--members", members,
        "--cluster-name", name, "--db-url", dbUrl, "--db-user", postgres.user(),
        "--db-password", postgres.password(), "--admin-token", PlanClient.TOKEN);
    processes.add(p);
    return p;
  }

  private static void awaitMembers(LimiterProcess p, int n) {
    Awaits.await(n + " members seen by " + p.grpcPort, Duration.ofSeconds(60),
        () -> p.httpGet("/metrics").body().contains("ratelimit_cluster_members " + n + ".0")
            && p.httpGet("/metrics").body().contains(
                "ratelimit_cluster_partitions_without_owner 0.0"));
  }

  private static long usage(PlanClient client) {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    GetUsageResponse r = client.admin().getUsage(GetUsageRequest.newBuilder().setPlanId("gold")
        .setFrom(today.minusDays(1).toString()).setTo(today.plusDays(1).toString()).build());
    long total = 0;
    for (KeyUsage k : r.getKeysList()) {
      total += k.getDaysList().stream().mapToLong(d -> d.getRequests()).sum();
    }
    return total;
  }

  @Test
  void exactAcrossMembersSurvivesTheLossOfOneAndAFullRestart() throws Exception {
    postgres = PostgresServer.start();
    String dbUrl = postgres.createDatabase();
    Path config = Files.createDirectories(dir.resolve("config"));
    Files.writeString(config.resolve("plans.yaml"), PLANS);
    int portA = FreePorts.next();
    int portB = FreePorts.next();
    String name = "plans-" + UUID.randomUUID();
    LimiterProcess[] m = startCluster(config, dbUrl, portA, portB, name);

    CreateKeyResponse key;
    String value;
    try (PlanClient a = new PlanClient(m[0].grpcPort);
        PlanClient b = new PlanClient(m[1].grpcPort)) {
      key = a.admin().createKey(CreateKeyRequest.newBuilder().setName("k").addPlanIds("gold")
          .build());
      value = key.getValue();

      // 64 checks, 32 in flight at a time, alternating between the members: exactly 10 pass.
      Semaphore inFlight = new Semaphore(32);
      List<ListenableFuture<CheckResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        inFlight.acquire();
        PlanClient c = i % 2 == 0 ? a : b;
        ListenableFuture<CheckResponse> f = c.futureChecks()
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .check(request(value, "shop", "prod", "GET", "/x"));
        f.addListener(inFlight::release, Runnable::run);
        calls.add(f);
      }
      int allowed = 0;
      for (ListenableFuture<CheckResponse> f : calls) {
        CheckResponse r = f.get(30, TimeUnit.SECONDS);
        if (r.getAllowed()) {
          allowed++;
        } else {
          assertEquals(Reason.QUOTA_EXCEEDED, r.getReason(), r.toString());
        }
      }
      assertEquals(10, allowed);
      assertEquals(10, usage(b));

      // Disabled through a, refused by b on the very next check.
      a.admin().updateKey(UpdateKeyRequest.newBuilder().setId(key.getKey().getId())
          .setEnabled(false).build());
      assertEquals(Reason.FORBIDDEN, b.check(request(value, "shop", "prod", "GET", "/x"))
          .getReason());
      b.admin().updateKey(UpdateKeyRequest.newBuilder().setId(key.getKey().getId())
          .setEnabled(true).build());
      assertEquals(Reason.QUOTA_EXCEEDED, a.check(request(value, "shop", "prod", "GET", "/x"))
          .getReason());

      // A grant of 5 more; 3 used now, through both members.
      b.admin().updateUsage(UpdateUsageRequest.newBuilder().setPlanId("gold")
          .setKeyId(key.getKey().getId()).setRemaining(5).build());
      assertTrue(a.check(request(value, "shop", "prod", "GET", "/x")).getAllowed());
      assertTrue(b.check(request(value, "shop", "prod", "GET", "/x")).getAllowed());
      assertTrue(a.check(request(value, "shop", "prod", "GET", "/x")).getAllowed());
    }

    // Lose member b abruptly: a holds the backups of everything b owned.
    m[1].kill();
    awaitMembers(m[0], 1);
    try (PlanClient a = new PlanClient(m[0].grpcPort)) {
      assertTrue(a.check(request(value, "shop", "prod", "GET", "/x")).getAllowed());
      CheckResponse last = a.check(request(value, "shop", "prod", "GET", "/x"));
      assertTrue(last.getAllowed(), last.toString());
      assertEquals(0, last.getQuota().getRemaining());
      assertEquals(Reason.QUOTA_EXCEEDED, a.check(request(value, "shop", "prod", "GET", "/x"))
          .getReason());
      assertEquals(15, usage(a));
    }

    // Stop the last member gracefully (it flushes its pending writes), then restart both.
    assertEquals(0, m[0].terminate(Duration.ofSeconds(90)), m[0].log());
    LimiterProcess[] again = startCluster(config, dbUrl, FreePorts.next(), FreePorts.next(),
        name + "-2");
    try (PlanClient a = new PlanClient(again[0].grpcPort);
        PlanClient b = new PlanClient(again[1].grpcPort)) {
      assertEquals(15, usage(b));
      CheckResponse r = a.check(request(value, "shop", "prod", "GET", "/x"));
      assertEquals(Reason.QUOTA_EXCEEDED, r.getReason(), r.toString());
      assertEquals(Reason.QUOTA_EXCEEDED, b.check(request(value, "shop", "prod", "GET", "/x"))
          .getReason());
    }
  }
}
