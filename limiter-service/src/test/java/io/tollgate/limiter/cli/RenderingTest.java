package io.tollgate.limiter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import io.tollgate.api.v1.ApiKey;
import io.tollgate.api.v1.ApiStage;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.CreateKeyResponse;
import io.tollgate.api.v1.DailyUsage;
import io.tollgate.api.v1.GetUsageResponse;
import io.tollgate.api.v1.KeyUsage;
import io.tollgate.api.v1.LimitStatus;
import io.tollgate.api.v1.Quota;
import io.tollgate.api.v1.QuotaStatus;
import io.tollgate.api.v1.Throttle;
import io.tollgate.api.v1.UsagePlan;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What each command prints for an answer, built here without a server. */
class RenderingTest {

  /** 2026-11-28T00:00:00Z. */
  private static final Timestamp MIDNIGHT = Timestamp.newBuilder().setSeconds(1_795_824_000L)
      .build();

  private static KeyUsage.Builder usage(String id, String name, long... perDay) {
    KeyUsage.Builder k = KeyUsage.newBuilder().setKeyId(id).setKeyName(name);
    for (int i = 0; i < perDay.length; i++) {
      k.addDays(DailyUsage.newBuilder().setDate("2026-11-" + (25 + i)).setRequests(perDay[i]));
    }
    return k;
  }

  @Test
  void usageTableHasADayColumnEachATotalAndTheQuota() {
    GetUsageResponse r = GetUsageResponse.newBuilder().setPlanId("basic")
        .setFrom("2026-11-25").setTo("2026-11-27")
        .addKeys(usage("k1", "alice", 0, 12, 3).setQuota(QuotaStatus.newBuilder()
            .setLimit(10000).setUsed(3).setRemaining(9997).setPeriodEnd(MIDNIGHT)))
        .addKeys(usage("k2-longer-id", "bob", 1500, 0, 0))
        .build();
    assertEquals(""
        + "plan basic: requests per UTC day, 2026-11-25 to 2026-11-27\n"
        + "KEY            NAME    11-25   11-26   11-27   TOTAL   QUOTA     REMAINING   PERIOD END\n"
        + "k1             alice       0      12       3      15   3/10000        9997   2026-11-28T00:00:00Z\n"
        + "k2-longer-id   bob      1500       0       0    1500   -                 -   -\n",
        UsageCommand.table(r));
  }

  @Test
  void usageAcrossAYearShowsWholeDates() {
    GetUsageResponse r = GetUsageResponse.newBuilder().setPlanId("p")
        .setFrom("2026-12-31").setTo("2027-01-01")
        .addKeys(KeyUsage.newBuilder().setKeyId("k").setKeyName("n")
            .addDays(DailyUsage.newBuilder().setDate("2026-12-31").setRequests(1))
            .addDays(DailyUsage.newBuilder().setDate("2027-01-01").setRequests(2)))
        .build();
    assertEquals(""
        + "plan p: requests per UTC day, 2026-12-31 to 2027-01-01\n"
        + "KEY   NAME   2026-12-31   2027-01-01   TOTAL   QUOTA   REMAINING   PERIOD END\n"
        + "k     n               1            2       3   -               -   -\n",
        UsageCommand.table(r));
  }

  @Test
  void usageOfAPlanWithoutKeysSaysSo() {
    assertEquals("plan p: requests per UTC day, 2026-11-21 to 2026-11-27\nno keys\n",
        UsageCommand.table(GetUsageResponse.newBuilder().setPlanId("p").setFrom("2026-11-21")
            .setTo("2026-11-27").build()));
  }

  @Test
  void planListShowsThrottleQuotaStagesAndSource() {
    UsagePlan basic = UsagePlan.newBuilder().setId("basic").setName("Basic")
        .setThrottle(Throttle.newBuilder().setRate(5).setBurst(10))
        .setQuota(Quota.newBuilder().setLimit(10000).setPeriod("DAY").setTimeZone("UTC"))
        .addApiStages(ApiStage.newBuilder().setApi("petstore").setStage("prod"))
        .addApiStages(ApiStage.newBuilder().setApi("petstore").setStage("beta")).build();
    UsagePlan gold = UsagePlan.newBuilder().setId("gold").setDeclaredInConfig(true)
        .setQuota(Quota.newBuilder().setLimit(5).setPeriod("WEEK").setOffset(1)
            .setTimeZone("Europe/Berlin"))
        .addApiStages(ApiStage.newBuilder().setApi("petstore").setStage("prod")).build();
    assertEquals(""
        + "ID      NAME    THROTTLE       QUOTA                      STAGES                        SOURCE\n"
        + "basic   Basic   5/s burst 10   10000/DAY                  petstore/prod,petstore/beta   api\n"
        + "gold    -       -              5/WEEK +1d Europe/Berlin   petstore/prod                 config\n",
        PlansCommand.table(List.of(basic, gold)));
    assertEquals("no plans\n", PlansCommand.table(List.of()));
  }

  @Test
  void planDetailListsMethodThrottlesUnderTheirStage() {
    UsagePlan p = UsagePlan.newBuilder().setId("basic").setName("Basic")
        .setThrottle(Throttle.newBuilder().setRate(0.5).setBurst(1))
        .addApiStages(ApiStage.newBuilder().setApi("petstore").setStage("prod")
            .putMethods("POST /pets", Throttle.newBuilder().setRate(1).setBurst(2).build())
            .putMethods("GET /pets/{id}", Throttle.newBuilder().setRate(10).setBurst(20).build()))
        .build();
    assertEquals(""
        + "id:           basic\n"
        + "name:         Basic\n"
        + "description:  -\n"
        + "throttle:     0.5/s burst 1\n"
        + "quota:        none\n"
        + "stages:       petstore/prod\n"
        + "                GET /pets/{id}: 10/s burst 20\n"
        + "                POST /pets: 1/s burst 2\n"
        + "source:       api\n", PlansCommand.describe(p));
  }

  @Test
  void keyListAndNewKey() {
    ApiKey k = ApiKey.newBuilder().setId("k_1").setName("alice").setEnabled(true)
        .addPlanIds("basic").addPlanIds("gold").setCreatedAt(MIDNIGHT).build();
    assertEquals(""
        + "ID    NAME    ENABLED   PLANS        CREATED                SOURCE\n"
        + "k_1   alice   true      basic,gold   2026-11-28T00:00:00Z   api\n",
        KeysCommand.table(List.of(k)));
    assertEquals(""
        + "id:       k_1\n"
        + "name:     alice\n"
        + "enabled:  true\n"
        + "plans:    basic,gold\n"
        + "value:    tg_abcdefghijklmnopqrstuvwxyz\n"
        + "\n"
        + "The value is shown only this once (the server keeps only its hash): store it now.\n",
        KeysCommand.created(CreateKeyResponse.newBuilder().setKey(k)
            .setValue("tg_abcdefghijklmnopqrstuvwxyz").build()));
  }

  @Test
  void checkShowsTokensQuotaAndRetry() {
    CheckResponse denied = CheckResponse.newBuilder().setAllowed(false)
        .setReason(CheckResponse.Reason.THROTTLED).setMessage("plan throttle")
        .setKeyId("k_1").setPlanId("basic")
        .setThrottle(LimitStatus.newBuilder().setLevel("plan").setLimit(10).setRemaining(0)
            .setRate(5).setResetAfter(Duration.newBuilder().setSeconds(2)))
        .setQuota(LimitStatus.newBuilder().setLevel("quota").setLimit(10000).setRemaining(9990)
            .setResetAfter(Duration.newBuilder().setSeconds(43_200)))
        .setRetryAfter(Duration.newBuilder().setNanos(200_000_000)).build();
    assertEquals(""
        + "allowed:           false\n"
        + "reason:            THROTTLED\n"
        + "message:           plan throttle\n"
        + "key:               k_1\n"
        + "plan:              basic\n"
        + "remaining tokens:  0 of 10 (plan, 5/s, full in 2s)\n"
        + "remaining quota:   9990 of 10000 (period ends in 12h00m00s)\n"
        + "retry after:       0.2s\n", CheckCommand.describe(denied));
  }
}
