package io.tollgate.limiter.plan;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tollgate.limiter.algorithm.CalendarPeriod;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PlanRulesTest {

  private static final Throttle ACCOUNT = PlanConfig.DEFAULT_ACCOUNT_THROTTLE;
  private static final ZoneId UTC = ZoneId.of("UTC");

  /** Asserts that {@code check} throws with exactly this field and message. */
  private static void rejects(String field, String message, Executable check) {
    InvalidPlanException e = assertThrows(InvalidPlanException.class, check);
    assertEquals(field, e.field());
    assertEquals(field + ": " + message, e.getMessage());
    assertEquals(message, e.reason());
  }

  @Test
  void messageWithoutAFieldIsTheReasonAlone() {
    assertEquals("bad", new InvalidPlanException("", "bad").getMessage());
  }

  // ---- ids

  @ParameterizedTest
  @ValueSource(strings = {"a", "basic", "Premium_2", "x-y", "0123456789012345678901234567890123"
      + "456789012345678901234567890123"})
  void goodIdsPass(String id) {
    assertDoesNotThrow(() -> PlanRules.checkId("id", id));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a b", "a/b", "ä", "a.b", "01234567890123456789012345678901234"
      + "567890123456789012345678901234"})
  void badIdsAreRejected(String id) {
    rejects("plan.id", "must be 1 to 64 letters, digits, '-' or '_', found '" + id + "'",
        () -> PlanRules.checkId("plan.id", id));
  }

  @Test
  void missingIdIsRejected() {
    rejects("id", "must be 1 to 64 letters, digits, '-' or '_', found nothing",
        () -> PlanRules.checkId("id", null));
  }

  // ---- throttles

  @ParameterizedTest
  @ValueSource(doubles = {0.001, 0.5, 1, 2.125, 10_000, 1_000_000_000})
  void goodRatesPass(double rate) {
    assertDoesNotThrow(() -> PlanRules.checkThrottle("t", new Throttle(rate, 1)));
  }

  static Stream<Arguments> badThrottles() {
    return Stream.of(
        Arguments.of(new Throttle(0, 1), "t.rate", "must be greater than 0, found 0"),
        Arguments.of(new Throttle(-5, 1), "t.rate", "must be greater than 0, found -5"),
        Arguments.of(new Throttle(Double.NaN, 1), "t.rate", "must be a finite number, found NaN"),
        Arguments.of(new Throttle(Double.POSITIVE_INFINITY, 1), "t.rate",
            "must be a finite number, found Infinity"),
        Arguments.of(new Throttle(1_000_000_000.5, 1), "t.rate",
            "must be at most 1000000000, found 1000000000.5"),
        Arguments.of(new Throttle(0.0001, 1), "t.rate",
            "must have at most 3 decimals, found 0.0001"),
        Arguments.of(new Throttle(1.2345, 1), "t.rate",
            "must have at most 3 decimals, found 1.2345"),
        Arguments.of(new Throttle(1, 0), "t.burst", "must be at least 1, found 0"),
        Arguments.of(new Throttle(1, -3), "t.burst", "must be at least 1, found -3"),
        Arguments.of(new Throttle(1, 1_000_000_001), "t.burst",
            "must be at most 1000000000, found 1000000001"));
  }

  @ParameterizedTest
  @MethodSource("badThrottles")
  void badThrottlesAreRejected(Throttle throttle, String field, String message) {
    rejects(field, message, () -> PlanRules.checkThrottle("t", throttle));
  }

  @Test
  void missingThrottleIsRejected() {
    rejects("throttle", "is required", () -> PlanRules.checkThrottle("throttle", null));
  }

  @Test
  void emptyFieldPrefixGivesBareFieldNames() {
    rejects("rate", "must be greater than 0, found 0",
        () -> PlanRules.checkThrottle("", new Throttle(0, 1)));
  }

  // ---- quotas

  @Test
  void goodQuotasPass() {
    for (CalendarPeriod p : CalendarPeriod.values()) {
      assertDoesNotThrow(() -> PlanRules.checkQuota("q", new Quota(0, p, 0, UTC)));
      assertDoesNotThrow(() -> PlanRules.checkQuota("q",
          new Quota(PlanRules.MAX_QUOTA_LIMIT, p, PlanRules.maxOffset(p), UTC)));
    }
  }

  static Stream<Arguments> badQuotas() {
    ZoneId berlin = ZoneId.of("Europe/Berlin");
    return Stream.of(
        Arguments.of(new Quota(-1, CalendarPeriod.DAY, 0, UTC), "quota.limit",
            "must be at least 0, found -1"),
        Arguments.of(new Quota(1_000_000_000_000_001L, CalendarPeriod.DAY, 0, UTC),
            "quota.limit", "must be at most 1000000000000000, found 1000000000000001"),
        Arguments.of(new Quota(1, null, 0, UTC), "quota.period",
            "is required (expected DAY, WEEK or MONTH)"),
        Arguments.of(new Quota(1, CalendarPeriod.DAY, 1, UTC), "quota.offset",
            "must be 0 for period DAY, found 1"),
        Arguments.of(new Quota(1, CalendarPeriod.WEEK, 7, UTC), "quota.offset",
            "must be from 0 to 6 for period WEEK, found 7"),
        Arguments.of(new Quota(1, CalendarPeriod.WEEK, -1, berlin), "quota.offset",
            "must be from 0 to 6 for period WEEK, found -1"),
        Arguments.of(new Quota(1, CalendarPeriod.MONTH, 28, UTC), "quota.offset",
            "must be from 0 to 27 for period MONTH, found 28"),
        Arguments.of(new Quota(1, CalendarPeriod.MONTH, 0, null), "quota.time_zone",
            "is required"));
  }

  @ParameterizedTest
  @MethodSource("badQuotas")
  void badQuotasAreRejected(Quota quota, String field, String message) {
    rejects(field, message, () -> PlanRules.checkQuota("quota", quota));
  }

  @ParameterizedTest
  @ValueSource(strings = {"DAY", "day", "Week", "mOnTh"})
  void periodsParseInAnyCase(String value) {
    assertEquals(value.toUpperCase(java.util.Locale.ROOT),
        PlanRules.parsePeriod("period", value).name());
  }

  @Test
  void unknownPeriodIsRejected() {
    rejects("usage_plans[0].quota.period", "unknown period 'YEAR' (expected DAY, WEEK or MONTH)",
        () -> PlanRules.parsePeriod("usage_plans[0].quota.period", "YEAR"));
    rejects("period", "is required (expected DAY, WEEK or MONTH)",
        () -> PlanRules.parsePeriod("period", ""));
  }

  @Test
  void zonesParseAndEmptyIsUtc() {
    assertEquals(UTC, PlanRules.parseZone("z", ""));
    assertEquals(UTC, PlanRules.parseZone("z", null));
    assertEquals(ZoneId.of("Europe/Berlin"), PlanRules.parseZone("z", "Europe/Berlin"));
    assertEquals(ZoneId.of("+02:00"), PlanRules.parseZone("z", "+02:00"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"Mars/Olympus", "europe berlin", "+25:00"})
  void unknownZoneIsRejected(String zone) {
    rejects("quota.time_zone", "unknown time zone '" + zone
        + "' (expected an IANA zone such as Europe/Berlin, or UTC)",
        () -> PlanRules.parseZone("quota.time_zone", zone));
  }

  // ---- method keys and names

  @ParameterizedTest
  @ValueSource(strings = {"GET /", "GET /pets/{id}", "* /pets", "PURGE /cache", "M-SEARCH /x"})
  void goodMethodKeysPass(String key) {
    assertDoesNotThrow(() -> PlanRules.checkMethodKey("m", key));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "GET", "get /pets", "GET  /pets", "GET pets", "GET /a b", "/pets",
      " GET /pets", "GET /pets ", "** /pets", "GET\t/pets"})
  void badMethodKeysAreRejected(String key) {
    rejects("methods[\"" + key + "\"]", "expected \"METHOD /route\" (e.g. \"GET /pets/{id}\" or "
        + "\"* /pets\"), found '" + key + "'",
        () -> PlanRules.checkMethodKey("methods[\"" + key + "\"]", key));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "pet store", "pets/v2", "a\tb"})
  void badNamesAreRejected(String name) {
    rejects("api", "must be 1 to 128 characters without '/' or whitespace, found '" + name + "'",
        () -> PlanRules.checkName("api", name));
  }

  @Test
  void namesUpTo128CharactersPass() {
    assertDoesNotThrow(() -> PlanRules.checkName("api", "p".repeat(128)));
    rejects("api", "must be 1 to 128 characters without '/' or whitespace, found '"
        + "p".repeat(129) + "'", () -> PlanRules.checkName("api", "p".repeat(129)));
  }

  // ---- plans

  private static UsagePlan plan(String id, Throttle throttle, ApiStage... stages) {
    return new UsagePlan(id, "", "", throttle, null, List.of(stages), false);
  }

  private static ApiStage stage(String api, String stage, Map<String, Throttle> methods) {
    return new ApiStage(api, stage, methods);
  }

  private static ApiStage stage(String api, String stage) {
    return stage(api, stage, Map.of());
  }

  @Test
  void goodPlanPasses() {
    UsagePlan plan = new UsagePlan("basic", "Basic", "", new Throttle(5, 10),
        new Quota(10_000, CalendarPeriod.MONTH, 0, UTC),
        List.of(stage("petstore", "prod", Map.of("POST /pets", new Throttle(1, 2))),
            stage("petstore", "test")), true);
    assertDoesNotThrow(() -> PlanRules.checkPlan("usage_plans[0]", plan, ACCOUNT));
    assertDoesNotThrow(() -> PlanRules.checkPlan("", plan(
        "open", null, stage("a", "b", Map.of("GET /x", ACCOUNT))), ACCOUNT));
  }

  static Stream<Arguments> badPlans() {
    Quota yearly = new Quota(-1, CalendarPeriod.MONTH, 0, UTC);
    return Stream.of(
        Arguments.of(plan("a b", null), "p.id",
            "must be 1 to 64 letters, digits, '-' or '_', found 'a b'"),
        Arguments.of(plan("x", new Throttle(0, 1)), "p.throttle.rate",
            "must be greater than 0, found 0"),
        Arguments.of(plan("x", new Throttle(20_000, 1)), "p.throttle.rate",
            "20000 exceeds the account throttle's rate 10000"),
        Arguments.of(plan("x", new Throttle(1, 5_001)), "p.throttle.burst",
            "5001 exceeds the account throttle's burst 5000"),
        Arguments.of(new UsagePlan("x", "", "", null, yearly, List.of(), false), "p.quota.limit",
            "must be at least 0, found -1"),
        Arguments.of(plan("x", null, stage("pet store", "prod")), "p.api_stages[0].api",
            "must be 1 to 128 characters without '/' or whitespace, found 'pet store'"),
        Arguments.of(plan("x", null, stage("petstore", "")), "p.api_stages[0].stage",
            "must be 1 to 128 characters without '/' or whitespace, found ''"),
        Arguments.of(plan("x", null, stage("petstore", "prod"), stage("petstore", "test"),
            stage("petstore", "prod")), "p.api_stages[2]",
            "stage petstore/prod is listed twice (first at p.api_stages[0])"),
        Arguments.of(plan("x", null, stage("petstore", "prod", Map.of("get /pets",
            new Throttle(1, 1)))), "p.api_stages[0].methods[\"get /pets\"]",
            "expected \"METHOD /route\" (e.g. \"GET /pets/{id}\" or \"* /pets\"), found "
                + "'get /pets'"),
        Arguments.of(plan("x", null, stage("petstore", "prod", Map.of("GET /pets",
            new Throttle(1, 0)))), "p.api_stages[0].methods[\"GET /pets\"].burst",
            "must be at least 1, found 0"),
        Arguments.of(plan("x", new Throttle(5, 10), stage("petstore", "prod", Map.of("POST /pets",
            new Throttle(6, 2)))), "p.api_stages[0].methods[\"POST /pets\"].rate",
            "6 exceeds the plan throttle's rate 5"),
        Arguments.of(plan("x", new Throttle(5, 10), stage("petstore", "prod", Map.of("POST /pets",
            new Throttle(0.5, 11)))), "p.api_stages[0].methods[\"POST /pets\"].burst",
            "11 exceeds the plan throttle's burst 10"),
        Arguments.of(plan("x", null, stage("petstore", "prod", Map.of("POST /pets",
            new Throttle(10_000.5, 2)))), "p.api_stages[0].methods[\"POST /pets\"].rate",
            "10000.5 exceeds the account throttle's rate 10000"));
  }

  @ParameterizedTest
  @MethodSource("badPlans")
  void badPlansAreRejected(UsagePlan plan, String field, String message) {
    rejects(field, message, () -> PlanRules.checkPlan("p", plan, ACCOUNT));
  }

  @Test
  void planWithoutPrefixNamesBareFields() {
    rejects("throttle.rate", "20000 exceeds the account throttle's rate 10000",
        () -> PlanRules.checkPlan("", plan("x", new Throttle(20_000, 1)), ACCOUNT));
  }

  @Test
  void aLowerAccountThrottleBindsThePlan() {
    Throttle account = new Throttle(100, 50);
    rejects("p.throttle.burst", "60 exceeds the account throttle's burst 50",
        () -> PlanRules.checkPlan("p", plan("x", new Throttle(100, 60)), account));
  }

  // ---- stages

  private static Map<String, StageSettings> stages(StageSettings... settings) {
    Map<String, StageSettings> out = new LinkedHashMap<>();
    for (StageSettings s : settings) {
      out.put(s.id(), s);
    }
    return out;
  }

  @Test
  void goodStagesPass() {
    assertDoesNotThrow(() -> PlanRules.checkStages("stages", ACCOUNT, stages(
        new StageSettings("petstore", "prod", new Throttle(1000, 500),
            Map.of("GET /pets/{id}", new Throttle(100, 50))),
        new StageSettings("petstore", "test", null, Map.of("* /pets", ACCOUNT)))));
    assertDoesNotThrow(() -> PlanRules.checkStages("stages", ACCOUNT, Map.of()));
  }

  static Stream<Arguments> badStages() {
    StageSettings good = new StageSettings("petstore", "test", null, Map.of());
    return Stream.of(
        Arguments.of(new StageSettings("pet/store", "prod", null, Map.of()), "stages[1].api",
            "must be 1 to 128 characters without '/' or whitespace, found 'pet/store'"),
        Arguments.of(new StageSettings("petstore", "pr od", null, Map.of()), "stages[1].stage",
            "must be 1 to 128 characters without '/' or whitespace, found 'pr od'"),
        Arguments.of(new StageSettings("petstore", "prod", new Throttle(-1, 5), Map.of()),
            "stages[1].throttle.rate", "must be greater than 0, found -1"),
        Arguments.of(new StageSettings("petstore", "prod", new Throttle(10_001, 5), Map.of()),
            "stages[1].throttle.rate", "10001 exceeds the account throttle's rate 10000"),
        Arguments.of(new StageSettings("petstore", "prod", new Throttle(1, 6_000), Map.of()),
            "stages[1].throttle.burst", "6000 exceeds the account throttle's burst 5000"),
        Arguments.of(new StageSettings("petstore", "prod", new Throttle(1000, 500),
            Map.of("GET /pets", new Throttle(2000, 5))), "stages[1].methods[\"GET /pets\"].rate",
            "2000 exceeds the stage throttle's rate 1000"),
        Arguments.of(new StageSettings("petstore", "prod", new Throttle(1000, 500),
            Map.of("GET /pets", new Throttle(10, 501))), "stages[1].methods[\"GET /pets\"].burst",
            "501 exceeds the stage throttle's burst 500"),
        Arguments.of(new StageSettings("petstore", "prod", null,
            Map.of("GET /pets", new Throttle(10_000, 5_001))),
            "stages[1].methods[\"GET /pets\"].burst",
            "5001 exceeds the account throttle's burst 5000"),
        Arguments.of(new StageSettings("petstore", "prod", null,
            Map.of("GET/pets", new Throttle(1, 1))), "stages[1].methods[\"GET/pets\"]",
            "expected \"METHOD /route\" (e.g. \"GET /pets/{id}\" or \"* /pets\"), found "
                + "'GET/pets'"),
        Arguments.of(new StageSettings("petstore", "prod", null,
            Map.of("GET /pets", new Throttle(1.0005, 1))),
            "stages[1].methods[\"GET /pets\"].rate",
            "must have at most 3 decimals, found 1.0005"),
        Arguments.of(good, null, null));
  }

  @ParameterizedTest
  @MethodSource("badStages")
  void badStagesAreRejectedAtTheirPosition(StageSettings bad, String field, String message) {
    StageSettings first = new StageSettings("petstore", "test", null, Map.of());
    if (field == null) {
      assertDoesNotThrow(() -> PlanRules.checkStages("stages", ACCOUNT, stages(first)));
      return;
    }
    rejects(field, message, () -> PlanRules.checkStages("stages", ACCOUNT, stages(first, bad)));
  }

  // ---- a key's plans

  private static final Map<String, UsagePlan> PLANS = Map.of(
      "basic", plan("basic", null, stage("petstore", "prod"), stage("petstore", "test")),
      "premium", plan("premium", null, stage("petstore", "prod")),
      "other", plan("other", null, stage("orders", "prod")),
      "none", plan("none", null));

  @Test
  void keyPlansCoveringDifferentStagesPass() {
    assertDoesNotThrow(() -> PlanRules.checkKeyPlans("plans", Set.of("basic", "other", "none"),
        PLANS));
    assertDoesNotThrow(() -> PlanRules.checkKeyPlans("plans", Set.of(), PLANS));
  }

  @Test
  void unknownPlanIsRejected() {
    rejects("api_keys[0].plans", "unknown plan 'gold'",
        () -> PlanRules.checkKeyPlans("api_keys[0].plans", Set.of("basic", "gold"), PLANS));
  }

  @Test
  void twoPlansCoveringOneStageAreRejected() {
    rejects("plans", "'basic' and 'premium' both cover stage petstore/prod",
        () -> PlanRules.checkKeyPlans("plans", Set.of("premium", "other", "basic"), PLANS));
  }
}
