package io.tollgate.limiter.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiKeys;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.PlanConfig;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.StageSettings;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The plans file: its fields, its errors (one fixture each), and how it sits among rule files. */
class PlansFileTest {

  private static final String KEY_A_HASH =
      "11f743c54b1420297d8ccc378a21e054bffea804913a63a80e71ee3c65db0838";
  private static final String METHOD_KEY =
      "expected \"METHOD /route\" (e.g. \"GET /pets/{id}\" or \"* /pets\")";
  private static final String NAME = "must be 1 to 128 characters without '/' or whitespace";

  /** Each file under config/plans/bad/ and the exact message it must produce. */
  static Stream<Arguments> badPlansFiles() {
    return Stream.of(
        // keys
        Arguments.of("missing_hash_and_value.yaml", "missing_hash_and_value.yaml:4: api_keys[0]: "
            + "exactly one of hash or value is required, found neither"),
        Arguments.of("hash_and_value.yaml", "hash_and_value.yaml:4: api_keys[0]: "
            + "exactly one of hash or value is required, found both"),
        Arguments.of("bad_hash.yaml", "bad_hash.yaml:3: api_keys[0].hash: expected 64 lower-case "
            + "hex characters (the SHA-256 of the key's value), found other characters"),
        Arguments.of("short_value.yaml", "short_value.yaml:3: api_keys[0].value: "
            + "must be 20 to 256 characters, found 9"),
        Arguments.of("bad_key_id.yaml", "bad_key_id.yaml:2: api_keys[0].id: "
            + "must be 1 to 64 letters, digits, '-' or '_', found 'partner a'"),
        Arguments.of("unknown_plan.yaml", "unknown_plan.yaml:6: api_keys[0].plans: "
            + "unknown plan 'gold'"),
        Arguments.of("key_in_two_plans_of_one_stage.yaml", "key_in_two_plans_of_one_stage.yaml:12:"
            + " api_keys[0].plans: 'basic' and 'premium' both cover stage petstore/prod"),
        Arguments.of("plan_listed_twice_in_key.yaml", "plan_listed_twice_in_key.yaml:6: "
            + "api_keys[0].plans[1]: plan 'basic' is listed twice"),
        Arguments.of("duplicate_key_id.yaml", "duplicate_key_id.yaml:4: api_keys[1].id: "
            + "duplicate key id 'partner-a' (first at api_keys[0])"),
        Arguments.of("duplicate_key_hash.yaml", "duplicate_key_hash.yaml:5: api_keys[1].value: "
            + "the same key as api_keys[0]"),
        // throttles of the account and stages
        Arguments.of("stage_throttle_above_account.yaml", "stage_throttle_above_account.yaml:7: "
            + "stages[0].throttle.rate: 200 exceeds the account throttle's rate 100"),
        Arguments.of("method_above_stage.yaml", "method_above_stage.yaml:6: "
            + "stages[0].methods[\"GET /pets\"].rate: 2000 exceeds the stage throttle's rate 1000"),
        Arguments.of("method_above_account.yaml", "method_above_account.yaml:7: "
            + "stages[0].methods[\"GET /pets\"].burst: 6000 exceeds the account throttle's burst "
            + "5000"),
        Arguments.of("duplicate_stage.yaml", "duplicate_stage.yaml:4: stages[2]: "
            + "stage petstore/prod is listed twice (first at stages[0])"),
        Arguments.of("duplicate_method.yaml", "duplicate_method.yaml:6: "
            + "stages[0].methods[\"GET /pets\"]: duplicate method, first set on line 5"),
        Arguments.of("bad_method_key.yaml", "bad_method_key.yaml:5: "
            + "stages[0].methods[\"get /pets\"]: " + METHOD_KEY + ", found 'get /pets'"),
        Arguments.of("rate_not_a_number.yaml", "rate_not_a_number.yaml:2: account.throttle.rate: "
            + "expected a number, found 'lots'"),
        Arguments.of("zero_rate.yaml", "zero_rate.yaml:3: account.throttle.rate: "
            + "must be greater than 0, found 0"),
        Arguments.of("missing_burst.yaml", "missing_burst.yaml:2: account.throttle.burst: "
            + "required field is missing"),
        Arguments.of("burst_not_whole.yaml", "burst_not_whole.yaml:4: stages[0].throttle.burst: "
            + "expected a whole number, found '2.5'"),
        // plans
        Arguments.of("plan_throttle_above_account.yaml", "plan_throttle_above_account.yaml:3: "
            + "usage_plans[0].throttle.rate: 20000 exceeds the account throttle's rate 10000"),
        Arguments.of("plan_method_above_plan.yaml", "plan_method_above_plan.yaml:8: "
            + "usage_plans[0].api_stages[0].methods[\"POST /pets\"].rate: "
            + "6 exceeds the plan throttle's rate 5"),
        Arguments.of("negative_burst.yaml", "negative_burst.yaml:5: usage_plans[0].throttle.burst: "
            + "must be at least 1, found -1"),
        Arguments.of("too_many_decimals.yaml", "too_many_decimals.yaml:3: "
            + "usage_plans[0].throttle.rate: must have at most 3 decimals, found 0.0001"),
        Arguments.of("bad_period.yaml", "bad_period.yaml:5: usage_plans[0].quota.period: "
            + "unknown period 'YEAR' (expected DAY, WEEK or MONTH)"),
        Arguments.of("missing_period.yaml", "missing_period.yaml:3: usage_plans[0].quota.period: "
            + "required field is missing (expected DAY, WEEK or MONTH)"),
        Arguments.of("bad_zone.yaml", "bad_zone.yaml:6: usage_plans[0].quota.time_zone: "
            + "unknown time zone 'Mars/Olympus_Mons' (expected an IANA zone such as "
            + "Europe/Berlin, or UTC)"),
        Arguments.of("negative_limit.yaml", "negative_limit.yaml:4: usage_plans[0].quota.limit: "
            + "must be at least 0, found -5"),
        Arguments.of("offset_out_of_range.yaml", "offset_out_of_range.yaml:3: "
            + "usage_plans[0].quota.offset: must be from 0 to 6 for period WEEK, found 7"),
        Arguments.of("duplicate_plan_id.yaml", "duplicate_plan_id.yaml:4: usage_plans[2].id: "
            + "duplicate plan id 'basic' (first at usage_plans[0])"),
        Arguments.of("missing_plan_id.yaml", "missing_plan_id.yaml:2: usage_plans[0].id: "
            + "required field is missing"),
        Arguments.of("bad_plan_id.yaml", "bad_plan_id.yaml:2: usage_plans[0].id: "
            + "must be 1 to 64 letters, digits, '-' or '_', found ''"),
        Arguments.of("duplicate_plan_stage.yaml", "duplicate_plan_stage.yaml:5: "
            + "usage_plans[0].api_stages[1]: stage petstore/prod is listed twice "
            + "(first at usage_plans[0].api_stages[0])"),
        Arguments.of("bad_stage_name.yaml", "bad_stage_name.yaml:4: "
            + "usage_plans[0].api_stages[0].api: " + NAME + ", found 'pet/store'"),
        Arguments.of("misspelled_field.yaml", "misspelled_field.yaml:3: usage_plans[0].throtle: "
            + "unknown field 'throtle' (expected one of api_stages, description, id, name, quota, "
            + "throttle)"),
        Arguments.of("plans_not_a_list.yaml", "plans_not_a_list.yaml:2: usage_plans: "
            + "expected a list, found a mapping"),
        // the file itself
        Arguments.of("plans_and_domain.yaml", "plans_and_domain.yaml:3: usage_plans: a file holds "
            + "either rules (domain, descriptors) or plans (account, stages, usage_plans, "
            + "api_keys), not both"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badPlansFiles")
  void badPlansFileIsRejectedWithExactMessage(String file, String message) throws Exception {
    Path path = resource("config/plans/bad/" + file);
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(ConfigLoader.read(path)));
    assertEquals(message, e.getMessage());
    // The rules-only entry points check the plans file too.
    assertEquals(message, assertThrows(ConfigException.class, () -> ConfigLoader.load(path))
        .getMessage());
  }

  @Test
  void everyBadFixtureHasACase() throws Exception {
    Set<String> cases = badPlansFiles().map(a -> (String) a.get()[0])
        .collect(Collectors.toCollection(TreeSet::new));
    Set<String> files;
    try (Stream<Path> list = Files.list(resource("config/plans/bad"))) {
      files = list.map(p -> p.getFileName().toString())
          .collect(Collectors.toCollection(TreeSet::new));
    }
    assertEquals(files, cases);
  }

  @Test
  void everyFieldLoads() throws Exception {
    LoadedConfig loaded = ConfigLoader.load(ConfigLoader.read(
        resource("config/plans/good/plans.yaml")));
    assertEquals(Map.of(), loaded.rules().domains());
    PlanConfig plans = loaded.plans();

    assertEquals(new Throttle(8000, 4000), plans.accountThrottle());

    assertEquals(Set.of("petstore/prod", "petstore/test"), plans.stages().keySet());
    StageSettings prod = plans.stages().get("petstore/prod");
    assertEquals(new StageSettings("petstore", "prod", new Throttle(1000, 500), Map.of(
        "GET /pets/{id}", new Throttle(100, 50), "* /admin", new Throttle(0.5, 1))), prod);
    assertEquals(new StageSettings("petstore", "test", null, Map.of()),
        plans.stages().get("petstore/test"));

    assertEquals(Set.of("basic", "premium", "open"), plans.plans().keySet());
    assertEquals(new UsagePlan("basic", "Basic", "For trying things out.", new Throttle(5, 10),
        new Quota(10_000, CalendarPeriod.MONTH, 3, ZoneId.of("Europe/Berlin")),
        List.of(new ApiStage("petstore", "prod", Map.of("POST /pets", new Throttle(1, 2)))),
        true), plans.plans().get("basic"));
    UsagePlan premium = plans.plans().get("premium");
    assertEquals(new Throttle(50.25, 10), premium.throttle(), "merged from the basic anchor");
    assertEquals(new Quota(1_000_000, CalendarPeriod.WEEK, 0, ZoneId.of("UTC")), premium.quota());
    assertEquals(List.of(new ApiStage("petstore", "test", Map.of()),
        new ApiStage("orders", "prod", Map.of())), premium.apiStages());
    assertEquals(new UsagePlan("open", "", "", null, null, List.of(), true),
        plans.plans().get("open"));

    String hashB = ApiKeys.hash("tollgate-example-key-partner-b-000000");
    String hashC = ApiKeys.hash("tollgate-example-key-no-plans-0000000");
    assertEquals(Set.of(KEY_A_HASH, hashB, hashC), plans.keys().keySet());
    assertEquals(new ApiKey("partner-a", "Partner A", KEY_A_HASH, true,
        Set.of("basic", "premium"), Instant.EPOCH, true), plans.keys().get(KEY_A_HASH));
    assertEquals(new ApiKey("partner-b", "partner-b", hashB, false, Set.of("premium"),
        Instant.EPOCH, true), plans.keys().get(hashB));
    assertEquals(new ApiKey("no-plans", "no-plans", hashC, true, Set.of(), Instant.EPOCH, true),
        plans.keys().get(hashC));
    assertEquals(List.of("no-plans", "partner-a", "partner-b"),
        plans.keyList().stream().map(ApiKey::id).toList());
  }

  @Test
  void noPlansFileGivesTheDefault() throws Exception {
    LoadedConfig loaded = ConfigLoader.load(Map.of("r.yaml", "domain: r\n"));
    assertSame(PlanConfig.DEFAULT, loaded.plans());
    assertEquals(Set.of("r"), loaded.rules().domains().keySet());
  }

  @Test
  void plansFileSitsBesideRuleFiles() throws Exception {
    LoadedConfig loaded = ConfigLoader.load(Map.of(
        "a.yaml", "domain: a\n",
        "plans.yaml", "account:\n  throttle: {rate: 100, burst: 20}\n",
        "z.yml", "domain: z\n"));
    assertEquals(Set.of("a", "z"), loaded.rules().domains().keySet());
    assertEquals(new PlanConfig(new Throttle(100, 20), Map.of(), Map.of(), Map.of()),
        loaded.plans());
    assertEquals(Set.of("a", "z"), ConfigLoader.parse(Map.of("a.yaml", "domain: a\n",
        "p.yaml", "usage_plans: []\n", "z.yml", "domain: z\n")).domains().keySet());
  }

  @Test
  void emptySectionsLoad() throws Exception {
    PlanConfig plans = ConfigLoader.load(Map.of("p.yaml",
        "account:\nstages:\nusage_plans: []\napi_keys:\n")).plans();
    assertEquals(PlanConfig.DEFAULT, plans);
  }

  @Test
  void twoPlansFilesNameBothFiles(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("a.yaml"), "usage_plans: []\n");
    Files.writeString(dir.resolve("b.yaml"), "domain: b\n");
    Files.writeString(dir.resolve("c.yml"), "# more plans\napi_keys: []\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir));
    assertEquals("c.yml:2: a second plans file: a.yaml declares the plans already "
        + "(a config has at most one plans file)", e.getMessage());
  }

  @Test
  void anUnknownTopLevelFieldOfAPlansFileIsAnError() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of(
        "p.yaml", "usage_plans: []\napi_key: []\n")));
    assertEquals("p.yaml:2: api_key: unknown field 'api_key' (expected one of account, "
        + "api_keys, stages, usage_plans)", e.getMessage());
  }

  @Test
  void aFileWithoutDomainOrPlansFieldsIsARuleFile() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of(
        "p.yaml", "plans: []\n")));
    assertEquals("p.yaml:1: plans: unknown field 'plans' (expected one of descriptors, domain, rlqs)",
        e.getMessage());
  }

  @Test
  void anchorsAndMergeKeysWorkForMethods() throws Exception {
    PlanConfig plans = ConfigLoader.load(Map.of("p.yaml", """
        stages:
          - api: petstore
            stage: prod
            methods: &common
              "GET /pets": {rate: 10, burst: 5}
              "* /admin": {rate: 1, burst: 1}
          - api: petstore
            stage: test
            methods:
              <<: *common
              "GET /pets": {rate: 20, burst: 5}
        """)).plans();
    assertEquals(Map.of("GET /pets", new Throttle(20, 5), "* /admin", new Throttle(1, 1)),
        plans.stages().get("petstore/test").methods(), "explicit methods win over merged ones");
  }

  @Test
  void aMergedMethodIsCheckedAgainstItsNewStage() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of(
        "p.yaml", """
            stages:
              - api: petstore
                stage: prod
                methods: &common
                  "GET /pets": {rate: 10, burst: 5}
              - api: petstore
                stage: test
                throttle: {rate: 5, burst: 5}
                methods: {<<: *common}
            """)));
    assertEquals("p.yaml:5: stages[1].methods[\"GET /pets\"].rate: "
        + "10 exceeds the stage throttle's rate 5", e.getMessage());
  }

  @Test
  void declaredKeyValueIsStoredOnlyAsItsHash() throws Exception {
    String value = "tollgate-example-key-value-that-is-secret";
    PlanConfig plans = ConfigLoader.load(Map.of("p.yaml",
        "api_keys:\n  - {id: k, value: " + value + "}\n")).plans();
    ApiKey key = plans.keys().get(ApiKeys.hash(value));
    assertEquals("k", key.id());
    assertFalse(key.toString().contains(value));
  }

  @Test
  void keyValueIsNeverEchoedInAnError() {
    String value = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0";
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of(
        "p.yaml", "api_keys:\n  - {id: k, hash: " + value + "}\n")));
    assertEquals("p.yaml:2: api_keys[0].hash: expected 64 lower-case hex characters "
        + "(the SHA-256 of the key's value), found 65 characters", e.getMessage());
  }

  @Test
  void rateAcceptsIntegersDecimalsAndUnderscores() throws Exception {
    PlanConfig plans = ConfigLoader.load(Map.of("p.yaml",
        "account: {throttle: {rate: 1_000.5, burst: 2_000}}\n")).plans();
    assertEquals(new Throttle(1000.5, 2000), plans.accountThrottle());
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Map.of(
        "p.yaml", "account: {throttle: {rate: .inf, burst: 1}}\n")));
    assertEquals("p.yaml:1: account.throttle.rate: must be a finite number, found Infinity",
        e.getMessage());
  }

  @Test
  void deployExamplePlansLoad() throws Exception {
    // Surefire runs in the module directory.
    LoadedConfig loaded = ConfigLoader.load(ConfigLoader.read(Path.of("../deploy/examples")));
    assertEquals(Set.of("edge"), loaded.rules().domains().keySet());
    PlanConfig plans = loaded.plans();
    assertEquals(PlanConfig.DEFAULT_ACCOUNT_THROTTLE, plans.accountThrottle());
    assertEquals(Set.of("free", "basic", "premium"), plans.plans().keySet());
    for (UsagePlan plan : plans.plans().values()) {
      assertTrue(plan.declared());
      assertEquals(List.of("petstore/prod"),
          plan.apiStages().stream().map(ApiStage::id).toList());
    }
    assertEquals(1, plans.keys().size());
    ApiKey key = plans.keyList().get(0);
    assertTrue(key.declared());
    assertEquals(Instant.EPOCH, key.createdAt());
  }

  // ---- reload

  @Test
  void reloadKeepsTheLastGoodConfigOnABadPlansEdit(@TempDir Path dir) throws Exception {
    Path rules = dir.resolve("rules.yaml");
    Path plansFile = dir.resolve("plans.yaml");
    Files.writeString(rules, "domain: edge\n");
    Files.writeString(plansFile, plans(5));
    Map<String, String> texts = ConfigLoader.read(dir);
    AtomicReference<LoadedConfig> current = new AtomicReference<>(ConfigLoader.load(texts));
    List<Boolean> outcomes = new ArrayList<>();
    try (ConfigWatcher watcher = new ConfigWatcher(dir, texts, current::set, outcomes::add)) {
      LoadedConfig initial = current.get();
      assertEquals(5, rate(initial));

      Files.writeString(plansFile, plans(50_000));
      watcher.poll();
      assertEquals(List.of(false), outcomes);
      assertSame(initial, current.get(), "the last good config stays in force");

      Files.writeString(rules, "domain: edge2\n");
      watcher.poll();
      assertEquals(List.of(false, false), outcomes, "still bad while the plans file is bad");
      assertSame(initial, current.get(), "a good rule edit waits for the plans file");

      Files.writeString(plansFile, plans(7));
      watcher.poll();
      assertEquals(List.of(false, false, true), outcomes);
      assertEquals(7, rate(current.get()));
      assertEquals(Set.of("edge2"), current.get().rules().domains().keySet());

      Files.delete(plansFile);
      watcher.poll();
      assertEquals(List.of(false, false, true, true), outcomes);
      assertEquals(PlanConfig.DEFAULT, current.get().plans(), "no plans file, no plans");
    }
  }

  private static String plans(double rate) {
    return "usage_plans:\n  - id: basic\n    throttle: {rate: " + rate + ", burst: 1}\n";
  }

  private static double rate(LoadedConfig config) {
    return config.plans().plans().get("basic").throttle().rate();
  }

  private static Path resource(String name) throws URISyntaxException {
    var url = PlansFileTest.class.getClassLoader().getResource(name);
    if (url == null) {
      throw new IllegalStateException("missing test resource " + name);
    }
    return Path.of(url.toURI());
  }
}
