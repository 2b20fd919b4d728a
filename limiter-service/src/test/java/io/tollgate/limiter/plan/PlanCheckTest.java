package io.tollgate.limiter.plan;

import static io.tollgate.limiter.testing.PlanClient.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.tollgate.api.v1.ApiStage;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CheckResponse.Reason;
import io.tollgate.api.v1.CreateKeyRequest;
import io.tollgate.api.v1.GetUsageRequest;
import io.tollgate.api.v1.GetUsageResponse;
import io.tollgate.api.v1.KeyPlanRequest;
import io.tollgate.api.v1.ListKeysRequest;
import io.tollgate.api.v1.ListPlansRequest;
import io.tollgate.api.v1.Quota;
import io.tollgate.api.v1.Throttle;
import io.tollgate.api.v1.UpdateKeyRequest;
import io.tollgate.api.v1.UpdateUsageRequest;
import io.tollgate.api.v1.UsagePlan;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.PlanClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage-plan check on one limiter, with the clock in the test's hands: throttles, quotas,
 * overrides, all-or-nothing, usage reports, and bad input. Each test uses its own plans and keys.
 */
class PlanCheckTest {

  private static final String PLANS = """
      account:
        throttle: {rate: 1000, burst: 1000}
      stages:
        - api: shop
          stage: prod
          methods:
            "POST /orders": {rate: 1, burst: 2}
      """;

  @TempDir
  static Path dir;

  private static final FakeClock CLOCK = new FakeClock();
  private static InJvmLimiter limiter;
  private static PlanClient client;
  private static final AtomicInteger SEQ = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(dir.resolve("plans.yaml"), PLANS);
    limiter = InJvmLimiter.start(dir, CLOCK, "--admin-token", PlanClient.TOKEN);
    client = new PlanClient(limiter.grpcPort());
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    limiter.close();
  }

  @BeforeEach
  void freshBuckets() {
    // An hour later every token bucket is full again; quotas use fresh plans per test.
    CLOCK.advance(1, TimeUnit.HOURS);
  }

  private static String id(String prefix) {
    return prefix + "-" + SEQ.incrementAndGet();
  }

  private static UsagePlan.Builder plan(String id) {
    return UsagePlan.newBuilder().setId(id)
        .addApiStages(ApiStage.newBuilder().setApi("shop").setStage("prod"));
  }

  private static String key(String planId) {
    return client.admin().createKey(CreateKeyRequest.newBuilder().setName("k")
        .addPlanIds(planId).build()).getValue();
  }

  private static CheckResponse check(String key, String method, String route) {
    return client.check(request(key, "shop", "prod", method, route));
  }

  private static CheckResponse check(String key) {
    return check(key, "GET", "/items");
  }

  @Test
  void throttleFivePerSecondBurstTen() {
    String p = id("throttle");
    client.admin().createPlan(plan(p).setThrottle(Throttle.newBuilder().setRate(5).setBurst(10))
        .build());
    String key = key(p);
    for (int i = 0; i < 10; i++) {
      CheckResponse r = check(key);
      assertTrue(r.getAllowed(), "burst check " + i + ": " + r);
      assertEquals(9 - i, r.getThrottle().getRemaining());
    }
    CheckResponse denied = check(key);
    assertEquals(Reason.THROTTLED, denied.getReason());
    assertEquals("plan", denied.getThrottle().getLevel());
    assertEquals(200_000_000, denied.getRetryAfter().getNanos());
    CLOCK.advance(1, TimeUnit.SECONDS);
    int allowed = 0;
    for (int i = 0; i < 8; i++) {
      allowed += check(key).getAllowed() ? 1 : 0;
    }
    assertEquals(5, allowed, "one second refills five tokens");
  }

  @Test
  void dailyQuotaAdmitsExactlyTenWith32CallersAndRollsOverAtMidnightInThePlansZone()
      throws Exception {
    // 2027-01-15 12:00 UTC is 07:00 in New York; the next period starts at 05:00 UTC. The
    // date lies after every time the other tests move the shared clock to, so it only moves
    // forward (moving it back would leave the account's token bucket looking empty).
    CLOCK.set(Instant.parse("2027-01-15T12:00:00Z").getEpochSecond() * 1_000_000_000L);
    String p = id("quota");
    client.admin().createPlan(plan(p).setQuota(Quota.newBuilder().setLimit(10).setPeriod("DAY")
        .setTimeZone("America/New_York")).build());
    String key = key(p);
    // 96 checks, 32 in flight at a time.
    java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(32);
    List<ListenableFuture<CheckResponse>> calls = new ArrayList<>();
    {
      for (int i = 0; i < 96; i++) {
        inFlight.acquire();
        ListenableFuture<CheckResponse> f = client.futureChecks()
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .check(request(key, "shop", "prod", "GET", "/items"));
        f.addListener(inFlight::release, Runnable::run);
        calls.add(f);
      }
      int allowed = 0;
      int exceeded = 0;
      for (ListenableFuture<CheckResponse> f : calls) {
        CheckResponse r = f.get(30, TimeUnit.SECONDS);
        if (r.getAllowed()) {
          allowed++;
        } else if (r.getReason() == Reason.QUOTA_EXCEEDED) {
          exceeded++;
        }
      }
      assertEquals(10, allowed);
      assertEquals(86, exceeded);
    }
    CheckResponse r = check(key);
    assertEquals(Reason.QUOTA_EXCEEDED, r.getReason());
    assertEquals(0, r.getQuota().getRemaining());
    assertEquals(17 * 3600, r.getRetryAfter().getSeconds(), "retry at 05:00 UTC");

    CLOCK.set(Instant.parse("2027-01-16T04:59:59Z").getEpochSecond() * 1_000_000_000L);
    assertEquals(Reason.QUOTA_EXCEEDED, check(key).getReason());
    CLOCK.set(Instant.parse("2027-01-16T05:00:00Z").getEpochSecond() * 1_000_000_000L);
    CheckResponse next = check(key);
    assertTrue(next.getAllowed(), next.toString());
    assertEquals(9, next.getQuota().getRemaining());
  }

  @Test
  void stageAndPlanMethodOverridesApplyToTheirMethodOnly() {
    String p = id("override");
    client.admin().createPlan(UsagePlan.newBuilder().setId(p)
        .setThrottle(Throttle.newBuilder().setRate(100).setBurst(100))
        .addApiStages(ApiStage.newBuilder().setApi("shop").setStage("prod")
            .putMethods("GET /items/{id}", Throttle.newBuilder().setRate(1).setBurst(1).build()))
        .build());
    String key = key(p);
    // The stage's POST /orders throttle (burst 2) is below the plan's 100.
    assertTrue(check(key, "POST", "/orders").getAllowed());
    assertTrue(check(key, "POST", "/orders").getAllowed());
    CheckResponse stageDenied = check(key, "POST", "/orders");
    assertEquals(Reason.THROTTLED, stageDenied.getReason());
    assertEquals("method", stageDenied.getThrottle().getLevel());
    // The plan's GET /items/{id} throttle (burst 1).
    assertTrue(check(key, "GET", "/items/{id}").getAllowed());
    CheckResponse planDenied = check(key, "GET", "/items/{id}");
    assertEquals(Reason.THROTTLED, planDenied.getReason());
    assertEquals("plan_method", planDenied.getThrottle().getLevel());
    // Other methods only see the plan's 100.
    for (int i = 0; i < 10; i++) {
      assertTrue(check(key, "GET", "/orders").getAllowed());
    }
  }

  @Test
  void deniedAndForbiddenChecksConsumeNothingAtAnyLevel() {
    String p = id("nothing");
    client.admin().createPlan(plan(p).setThrottle(Throttle.newBuilder().setRate(1).setBurst(3))
        .setQuota(Quota.newBuilder().setLimit(5).setPeriod("WEEK")).build());
    String key = key(p);
    for (int i = 0; i < 3; i++) {
      assertTrue(check(key).getAllowed());
    }
    for (int i = 0; i < 5; i++) {
      CheckResponse r = check(key);
      assertEquals(Reason.THROTTLED, r.getReason());
      assertEquals(2, r.getQuota().getRemaining(), "a throttled check takes no quota");
    }
    CLOCK.advance(10, TimeUnit.SECONDS);
    // Quota 2 left, cost 3: refused by the quota, and the bucket keeps its 3 tokens.
    CheckResponse big = client.check(request(key, "shop", "prod", "GET", "/items").toBuilder()
        .setCost(3).build());
    assertEquals(Reason.QUOTA_EXCEEDED, big.getReason());
    assertEquals(3, big.getThrottle().getRemaining());
    CheckResponse ok = check(key);
    assertTrue(ok.getAllowed());
    assertEquals(2, ok.getThrottle().getRemaining());
    assertEquals(1, ok.getQuota().getRemaining());

    // Forbidden checks touch nothing either.
    assertEquals(Reason.FORBIDDEN, check("no-such-key-value-0000000000").getReason());
    assertEquals(Reason.FORBIDDEN, client.check(CheckRequest.newBuilder().setApi("shop")
        .setStage("prod").setMethod("GET").setRoute("/items").setKeyRequired(true).build())
        .getReason());
    GetUsageResponse usage = usage(p, "");
    assertEquals(4, usage.getKeys(0).getDays(0).getRequests());
  }

  private GetUsageResponse usage(String plan, String keyId) {
    String today = Instant.ofEpochSecond(CLOCK.epochNanos() / 1_000_000_000L).toString()
        .substring(0, 10);
    return client.admin().getUsage(GetUsageRequest.newBuilder().setPlanId(plan).setKeyId(keyId)
        .setFrom(today).setTo(today).build());
  }

  @Test
  void disablingAKeyTakesEffectOnTheNextCheck() {
    String p = id("disable");
    client.admin().createPlan(plan(p).build());
    var created = client.admin().createKey(CreateKeyRequest.newBuilder().setName("d")
        .addPlanIds(p).build());
    assertTrue(check(created.getValue()).getAllowed());
    client.admin().updateKey(UpdateKeyRequest.newBuilder().setId(created.getKey().getId())
        .setEnabled(false).build());
    CheckResponse r = check(created.getValue());
    assertEquals(Reason.FORBIDDEN, r.getReason());
    assertEquals("API key is disabled", r.getMessage());
    client.admin().updateKey(UpdateKeyRequest.newBuilder().setId(created.getKey().getId())
        .setEnabled(true).build());
    assertTrue(check(created.getValue()).getAllowed());
  }

  @Test
  void usagePerKeyPerDayMatchesAllowedChecksAndGrantsAndResetsWork() {
    String p = id("usage");
    client.admin().createPlan(plan(p).setQuota(Quota.newBuilder().setLimit(4).setPeriod("MONTH"))
        .build());
    String a = key(p);
    String b = key(p);
    for (int i = 0; i < 6; i++) {
      check(a);
    }
    check(b);
    GetUsageResponse usage = usage(p, "");
    assertEquals(2, usage.getKeysCount());
    long total = usage.getKeysList().stream().mapToLong(k -> k.getDays(0).getRequests()).sum();
    assertEquals(5, total, "4 for a (its quota), 1 for b");

    String aId = usage.getKeysList().stream().filter(k -> k.getDays(0).getRequests() == 4)
        .findFirst().orElseThrow().getKeyId();
    var granted = client.admin().updateUsage(UpdateUsageRequest.newBuilder().setPlanId(p)
        .setKeyId(aId).setRemaining(2).build());
    assertEquals(2, granted.getRemaining());
    assertTrue(check(a).getAllowed());
    assertTrue(check(a).getAllowed());
    assertFalse(check(a).getAllowed());
    client.admin().updateUsage(UpdateUsageRequest.newBuilder().setPlanId(p).setKeyId(aId)
        .setReset(true).build());
    assertEquals(3, check(a).getQuota().getRemaining());
    assertEquals(7, usage(p, aId).getKeys(0).getDays(0).getRequests());
  }

  @Test
  void badAdminInputIsRefusedWithTheFieldAndWritesNothing() {
    int plansBefore = client.admin().listPlans(ListPlansRequest.getDefaultInstance())
        .getPlansCount();
    int keysBefore = client.admin().listKeys(ListKeysRequest.getDefaultInstance()).getKeysCount();
    assertInvalid("quota.period", () -> client.admin().createPlan(plan(id("bad"))
        .setQuota(Quota.newBuilder().setLimit(10).setPeriod("YEAR")).build()));
    assertInvalid("throttle.burst", () -> client.admin().createPlan(plan(id("bad"))
        .setThrottle(Throttle.newBuilder().setRate(5).setBurst(-1)).build()));
    assertInvalid("quota.limit", () -> client.admin().createPlan(plan(id("bad"))
        .setQuota(Quota.newBuilder().setLimit(-10).setPeriod("DAY")).build()));
    assertInvalid("longer than 1024 characters", () -> client.admin().createPlan(
        UsagePlan.newBuilder().setId(id("bad")).addApiStages(ApiStage.newBuilder().setApi("shop")
            .setStage("prod").putMethods("GET /" + "a".repeat(1100),
                Throttle.newBuilder().setRate(1).setBurst(1).build())).build()));
    assertInvalid("unknown plan", () -> client.admin().createKey(CreateKeyRequest.newBuilder()
        .setName("x").addPlanIds("no-such-plan").build()));
    String one = id("one");
    String two = id("two");
    client.admin().createPlan(plan(one).build());
    client.admin().createPlan(plan(two).build());
    assertInvalid("both cover stage shop/prod", () -> client.admin().createKey(
        CreateKeyRequest.newBuilder().setName("x").addPlanIds(one).addPlanIds(two).build()));
    var k = client.admin().createKey(CreateKeyRequest.newBuilder().setName("x").addPlanIds(one)
        .build());
    assertInvalid("both cover stage shop/prod", () -> client.admin().addKeyToPlan(
        KeyPlanRequest.newBuilder().setKeyId(k.getKey().getId()).setPlanId(two).build()));
    assertEquals(List.of(one), client.admin().getKey(
        io.tollgate.api.v1.GetKeyRequest.newBuilder().setId(k.getKey().getId()).build())
        .getPlanIdsList());
    assertEquals(plansBefore + 2, client.admin().listPlans(ListPlansRequest.getDefaultInstance())
        .getPlansCount());
    assertEquals(keysBefore + 1, client.admin().listKeys(ListKeysRequest.getDefaultInstance())
        .getKeysCount());
    assertInvalid("api: required", () -> client.check(CheckRequest.newBuilder()
        .setStage("prod").setMethod("GET").setRoute("/x").build()));
  }

  private static void assertInvalid(String messagePart, Runnable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.toString());
    assertTrue(e.getStatus().getDescription().contains(messagePart),
        e.getStatus().getDescription());
  }

  @Test
  void theAdminApiNeedsTheToken() throws Exception {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> client.admin(null).listPlans(ListPlansRequest.getDefaultInstance()));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    e = assertThrows(StatusRuntimeException.class,
        () -> client.admin("wrong-token-wrong-token").listPlans(
            ListPlansRequest.getDefaultInstance()));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    HttpClient http = HttpClient.newHttpClient();
    URI plans = URI.create("http://127.0.0.1:" + limiter.httpPort() + "/admin/plans");
    HttpResponse<String> none = http.send(HttpRequest.newBuilder(plans).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(401, none.statusCode());
    HttpResponse<String> ok = http.send(HttpRequest.newBuilder(plans)
        .header("Authorization", "Bearer " + PlanClient.TOKEN).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    assertTrue(ok.body().contains("\"plans\""), ok.body());
  }
}
