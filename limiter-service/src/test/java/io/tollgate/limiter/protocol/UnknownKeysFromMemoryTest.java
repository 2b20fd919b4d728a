package io.tollgate.limiter.protocol;

import static io.tollgate.limiter.testing.PlanClient.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.tollgate.api.v1.ApiStage;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.CreateKeyResponse;
import io.tollgate.api.v1.DeleteKeyRequest;
import io.tollgate.api.v1.Throttle;
import io.tollgate.api.v1.UsagePlan;
import io.tollgate.limiter.plan.ApiKeys;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.PlanClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unknown API keys are answered from memory on every member: a flood of made-up keys reads no
 * database, while stored keys, keys of the plans file, and keys created or deleted through
 * another member are known at once. Two in-JVM members in one cluster sharing one embedded
 * database; the database reads are the {@code ratelimit_db_key_lookups_total} counters.
 */
class UnknownKeysFromMemoryTest {

  private static final int FLOOD = 10_000;
  private static final int PER_BATCH = 1_000;
  private static final String DECLARED = "declared-key-value-0123456789";

  @TempDir
  Path dir;

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private double lookups(InJvmLimiter... members) {
    double n = 0;
    for (InJvmLimiter m : members) {
      n += m.metric("ratelimit_db_key_lookups_total");
    }
    return n;
  }

  @Test
  void aFloodOfRandomKeysReadsNoDatabaseAndRealKeysStillWork() throws Exception {
    Path config = Files.createDirectories(dir.resolve("config"));
    Files.writeString(config.resolve("rules.yaml"), "domain: d\ndescriptors: []\n");
    Files.writeString(config.resolve("plans.yaml"), """
        account:
          throttle: {rate: 1000000, burst: 1000000}
        usage_plans:
          - id: declared
            throttle: {rate: 100000, burst: 100000}
            api_stages:
              - {api: shop, stage: prod}
        api_keys:
          - id: from-file
            name: From the file
            hash: %s
            plans: [declared]
        """.formatted(ApiKeys.hash(DECLARED)));
    Path data = dir.resolve("data");
    int portA = FreePorts.next();
    int portB = FreePorts.next();
    String members = "127.0.0.1:" + portA + ",127.0.0.1:" + portB;
    String cluster = "unknown-keys-" + UUID.randomUUID();
    FakeClock clock = new FakeClock();
    InJvmLimiter a = InJvmLimiter.start(config, clock, portA, "--members", members,
        "--cluster-name", cluster, "--data-dir", data.toString(), "--db-auto-server",
        "--admin-token", PlanClient.TOKEN);
    open.add(a);
    InJvmLimiter b = InJvmLimiter.start(config, clock, portB, "--members", members,
        "--cluster-name", cluster, "--data-dir", data.toString(), "--db-auto-server",
        "--admin-token", PlanClient.TOKEN);
    open.add(b);
    Awaits.await("two members", Duration.ofSeconds(60),
        () -> a.metric("ratelimit_cluster_members") == 2
            && b.metric("ratelimit_cluster_members") == 2);
    PlanClient ca = new PlanClient(a.grpcPort());
    open.add(ca);
    PlanClient cb = new PlanClient(b.grpcPort());
    open.add(cb);

    ca.admin().createPlan(UsagePlan.newBuilder().setId("basic")
        .setThrottle(Throttle.newBuilder().setRate(100_000).setBurst(100_000))
        .addApiStages(ApiStage.newBuilder().setApi("shop").setStage("prod")).build());
    CreateKeyResponse stored = ca.admin().createKey(CreateKeyRequest.newBuilder()
        .setName("stored").addPlanIds("basic").build());
    assertTrue(cb.check(request(stored.getValue(), "shop", "prod", "GET", "/")).getAllowed(),
        "a key created through a is known on b at once");
    assertTrue(ca.check(request(DECLARED, "shop", "prod", "GET", "/")).getAllowed());
    assertTrue(cb.check(request(DECLARED, "shop", "prod", "GET", "/")).getAllowed());

    double before = lookups(a, b);
    assertTrue(before >= 1, "the counter is there: creating a key looked its hash up");
    long start = System.nanoTime();
    int denied = 0;
    for (int batch = 0; batch < FLOOD / PER_BATCH; batch++) {
      long batchStart = System.nanoTime();
      PlanClient via = batch % 2 == 0 ? ca : cb;
      List<ListenableFuture<CheckResponse>> answers = new ArrayList<>(PER_BATCH);
      for (int i = 0; i < PER_BATCH; i++) {
        answers.add(via.futureChecks().withDeadlineAfter(30, TimeUnit.SECONDS)
            .check(request("made-up-" + UUID.randomUUID(), "shop", "prod", "GET", "/")));
      }
      for (ListenableFuture<CheckResponse> f : answers) {
        CheckResponse r = f.get(60, TimeUnit.SECONDS);
        assertEquals(CheckResponse.Reason.FORBIDDEN, r.getReason(), r.toString());
        denied++;
      }
      // At most 10,000 a second: a batch of 1,000 takes at least 100 ms.
      long left = TimeUnit.MILLISECONDS.toNanos(100) - (System.nanoTime() - batchStart);
      if (left > 0) {
        TimeUnit.NANOSECONDS.sleep(left);
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("unknown keys: %d checks in %.2f s (%.0f/s), database key lookups %.0f%n",
        denied, seconds, denied / seconds, lookups(a, b) - before);
    assertEquals(FLOOD, denied);
    assertEquals(before, lookups(a, b), "random keys read no database");

    assertTrue(ca.check(request(stored.getValue(), "shop", "prod", "GET", "/")).getAllowed());
    CreateKeyResponse onB = cb.admin().createKey(CreateKeyRequest.newBuilder()
        .setName("made on b").addPlanIds("basic").build());
    assertTrue(ca.check(request(onB.getValue(), "shop", "prod", "GET", "/")).getAllowed(),
        "a key created through b is known on a at once");
    cb.admin().deleteKey(DeleteKeyRequest.newBuilder().setId(onB.getKey().getId()).build());
    CheckResponse gone = ca.check(request(onB.getValue(), "shop", "prod", "GET", "/"));
    assertEquals(CheckResponse.Reason.FORBIDDEN, gone.getReason(), gone.toString());
  }
}
