package io.tollgate.limiter.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.rule.LimitUnit;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.testing.Entries;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {

  private static final String UNITS = "second, minute, hour, day, week, month, year";
  private static final String RPU_RANGE = "expected a whole number from 0 to 4294967295";

  /** Each file under config/bad/ and the exact message it must produce. */
  static Stream<Arguments> badConfigs() {
    return Stream.of(
        Arguments.of("empty_domain.yaml",
            "empty_domain.yaml:2: domain: must not be empty"),
        Arguments.of("missing_domain.yaml",
            "missing_domain.yaml:2: domain: required field is missing"),
        Arguments.of("misspelled_key.yaml",
            "misspelled_key.yaml:6: descriptors[0].rate_limit.request_per_unit: unknown field "
                + "'request_per_unit' (expected one of algorithm, burst, name, replaces, "
                + "requests_per_unit, unit, unlimited)"),
        Arguments.of("unknown_unit.yaml",
            "unknown_unit.yaml:5: descriptors[0].rate_limit.unit: unknown unit 'hours' "
                + "(expected one of " + UNITS + ")"),
        Arguments.of("missing_unit.yaml",
            "missing_unit.yaml:5: descriptors[0].rate_limit.unit: required field is missing "
                + "(expected one of " + UNITS + ")"),
        Arguments.of("negative_requests.yaml",
            "negative_requests.yaml:6: descriptors[0].rate_limit.requests_per_unit: "
                + RPU_RANGE + ", found '-1'"),
        Arguments.of("requests_not_a_number.yaml",
            "requests_not_a_number.yaml:6: descriptors[0].rate_limit.requests_per_unit: "
                + RPU_RANGE + ", found 'ten'"),
        Arguments.of("requests_over_uint32.yaml",
            "requests_over_uint32.yaml:6: descriptors[0].rate_limit.requests_per_unit: "
                + RPU_RANGE + ", found '4294967296'"),
        Arguments.of("unlimited_with_unit.yaml",
            "unlimited_with_unit.yaml:6: descriptors[0].rate_limit.unit: "
                + "must not be set when unlimited is true"),
        Arguments.of("unlimited_combined_with_limits.yaml",
            "unlimited_combined_with_limits.yaml:7: descriptors[0].rate_limits[1]: "
                + "an unlimited rate limit cannot be combined with other limits"),
        Arguments.of("duplicate_key.yaml",
            "duplicate_key.yaml:8: descriptors[1]: "
                + "duplicate descriptor composite key 'edge.path_/login'"),
        Arguments.of("duplicate_field.yaml",
            "duplicate_field.yaml:7: descriptors[0].rate_limit.unit: "
                + "duplicate field, first set on line 5"),
        Arguments.of("empty_key.yaml",
            "empty_key.yaml:3: descriptors[0].key: must not be empty"),
        Arguments.of("replaces_self.yaml",
            "replaces_self.yaml:9: descriptors[0].rate_limit.replaces[0].name: "
                + "a limit cannot replace itself ('per_ip')"),
        Arguments.of("replaces_empty_name.yaml",
            "replaces_empty_name.yaml:9: descriptors[0].rate_limit.replaces[0].name: "
                + "a replaces entry needs a non-empty name"),
        Arguments.of("burst_without_token_bucket.yaml",
            "burst_without_token_bucket.yaml:7: descriptors[0].rate_limit.burst: "
                + "burst applies only to algorithm token_bucket"),
        Arguments.of("unknown_algorithm.yaml",
            "unknown_algorithm.yaml:5: descriptors[0].rate_limit.algorithm: unknown algorithm "
                + "'leaky_bucket' (expected one of fixed_window, sliding_window, token_bucket)"),
        Arguments.of("token_bucket_zero_rate.yaml",
            "token_bucket_zero_rate.yaml:7: descriptors[0].rate_limit.requests_per_unit: "
                + "a token bucket needs a refill rate of at least 1"),
        Arguments.of("not_a_mapping.yaml",
            "not_a_mapping.yaml:1: expected a mapping, found a list"),
        Arguments.of("invalid_yaml.yaml",
            "invalid_yaml.yaml:5: invalid YAML: expected ',' or '}', but got : "
                + "(while parsing a flow mapping from line 4)"),
        Arguments.of("empty_file.yaml",
            "empty_file.yaml: the file is empty"),
        Arguments.of("share_threshold_without_wildcard.yaml",
            "share_threshold_without_wildcard.yaml:8: descriptors[0].share_threshold: "
                + "applies only to a value with a * wildcard, and value is '/files'"),
        Arguments.of("descriptors_not_a_list.yaml",
            "descriptors_not_a_list.yaml:3: descriptors: expected a list, found a mapping"),
        Arguments.of("nested_error.yaml",
            "nested_error.yaml:15: descriptors[1].descriptors[0].rate_limits[1]"
                + ".requests_per_unit: " + RPU_RANGE + ", found 'lots'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badConfigs")
  void badConfigIsRejectedWithExactMessage(String file, String message) throws Exception {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(resource("config/bad/" + file)));
    assertEquals(message, e.getMessage());
  }

  @Test
  void everyBadFixtureHasACase() throws Exception {
    Set<String> cases = badConfigs().map(a -> (String) a.get()[0])
        .collect(Collectors.toCollection(TreeSet::new));
    Set<String> files;
    try (Stream<Path> list = Files.list(resource("config/bad"))) {
      files = list.map(p -> p.getFileName().toString())
          .collect(Collectors.toCollection(TreeSet::new));
    }
    assertEquals(files, cases);
  }

  @Test
  void sameDomainInTwoFilesNamesBothFiles(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("a.yaml"), "domain: edge\n");
    Files.writeString(dir.resolve("b.yml"), "# the same domain again\ndomain: edge\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir));
    assertEquals("b.yml:2: domain: duplicate domain 'edge', already defined in a.yaml",
        e.getMessage());
  }

  @Test
  void directoryWithoutYamlFilesIsAnError(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("rules.txt"), "domain: edge\n");
    Files.writeString(dir.resolve(".hidden.yaml"), "domain: edge\n");
    Files.createDirectory(dir.resolve("sub.yaml"));
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir));
    assertEquals(dir + ": no *.yaml or *.yml files in the directory", e.getMessage());
  }

  @Test
  void missingPathIsAnError(@TempDir Path dir) {
    Path missing = dir.resolve("nope.yaml");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(missing));
    assertEquals(missing + ": no such file or directory", e.getMessage());
  }

  @Test
  void deployExampleLoads() throws Exception {
    // Surefire runs in the module directory.
    RuleSet rules = ConfigLoader.load(Path.of("../deploy/examples/ratelimit.yaml"));
    assertEquals(Set.of("edge"), rules.domains().keySet());
    assertEquals(7, rules.limitCount());
  }

  @Test
  void envoyStyleDirectoryLoadsEveryYamlAndYmlFile() throws Exception {
    Path dir = resource("config/good/envoy");
    assertEquals(List.of("messaging.yaml", "mongo_cps.yaml", "rl.yml"),
        List.copyOf(ConfigLoader.read(dir).keySet()));

    RuleSet rules = ConfigLoader.load(dir);
    assertEquals(Set.of("mongo_cps", "messaging", "rl"), rules.domains().keySet());
    assertEquals(Map.of("mongo_cps", "mongo_cps.yaml", "messaging", "messaging.yaml",
        "rl", "rl.yml"), rules.sources());
    assertEquals(9, rules.limitCount());

    assertEquals(500, only(rules.match("mongo_cps", d("database", "users"))).requestsPerUnit());
    assertEquals(List.of(), rules.match("mongo_cps", d("database", "other")));

    RateLimitRule marketing =
        only(rules.match("messaging", d("message_type", "marketing", "to_number", "555")));
    assertEquals(5, marketing.requestsPerUnit());
    assertEquals(LimitUnit.DAY, marketing.unit());
    assertEquals("messaging.message_type_marketing.to_number", marketing.statKey());
    assertEquals(100, only(rules.match("messaging", d("to_number", "555"))).requestsPerUnit());

    RateLimitRule bank =
        only(rules.match("rl", d("source_cluster", "proxy", "destination_cluster", "bank")));
    assertEquals(List.of("per_destination"), bank.replaces());
    assertEquals("per_destination",
        only(rules.match("rl", d("source_cluster", "proxy", "destination_cluster", "x"))).name());
    assertTrue(only(rules.match("rl", d("source_cluster", "proxy", "destination_cluster",
        "mock"))).unlimited());
    RateLimitRule api = only(rules.match("rl", d("path", "/api/v1/users")));
    assertTrue(api.detailedMetric());
    assertEquals("rl.path_/api/*", api.statKey());
    assertTrue(only(rules.match("rl", d("bay", "1"))).shadowMode());
  }

  @Test
  void everySupportedFieldLoads() throws Exception {
    RuleSet rules = ConfigLoader.load(resource("config/good/all_fields.yaml"));
    assertEquals(Set.of("all_fields"), rules.domains().keySet());
    assertEquals(9, rules.limitCount());
    String domain = "all_fields";

    List<RateLimitRule> perIp = rules.match(domain, d("remote_address", "10.0.0.1"));
    assertEquals(2, perIp.size());
    RateLimitRule second = perIp.get(0);
    assertEquals("per_ip_second", second.name());
    assertEquals(LimitUnit.SECOND, second.unit());
    assertEquals(10, second.requestsPerUnit());
    assertEquals(LimitAlgorithm.Kind.FIXED_WINDOW, second.algorithm().kind());
    assertTrue(second.detailedMetric());
    assertFalse(second.shadowMode());
    assertFalse(second.unlimited());
    assertEquals("all_fields.remote_address", second.statKey());
    RateLimitRule day = perIp.get(1);
    assertEquals("per_ip_day", day.name());
    assertEquals(LimitUnit.DAY, day.unit());
    assertEquals(1000, day.requestsPerUnit());
    assertEquals(LimitAlgorithm.Kind.FIXED_WINDOW, day.algorithm().kind());
    assertFalse(second.tag().equals(day.tag()), "two limits on one descriptor need distinct tags");

    RateLimitRule premium = only(rules.match(domain, d("api_key", "premium-42")));
    assertEquals("premium", premium.name());
    assertEquals(LimitAlgorithm.Kind.TOKEN_BUCKET, premium.algorithm().kind());
    assertEquals(5, premium.requestsPerUnit());
    assertEquals(20, premium.algorithm().limit());
    assertEquals(List.of("per_ip_second", "per_ip_day"), premium.replaces());
    assertEquals("all_fields.api_key_premium-*", premium.statKey());

    RateLimitRule login = only(rules.match(domain, d("path", "/login")));
    assertTrue(login.shadowMode());
    assertFalse(login.detailedMetric());
    assertEquals(LimitAlgorithm.Kind.SLIDING_WINDOW, login.algorithm().kind());
    assertEquals(LimitUnit.MINUTE, login.unit());
    assertEquals(100, login.requestsPerUnit());

    RateLimitRule internal =
        only(rules.match(domain, d("tenant", "123", "user", "internal-svc")));
    assertTrue(internal.unlimited());
    assertNull(internal.unit());
    assertNull(internal.algorithm());
    assertEquals("all_fields.tenant_123.user_internal-svc", internal.statKey());
    RateLimitRule user = only(rules.match(domain, d("tenant", "123", "user", "bob")));
    assertEquals(LimitUnit.HOUR, user.unit());
    assertEquals(3, user.requestsPerUnit());
    assertEquals(List.of(), rules.match(domain, d("tenant", "123")));

    RateLimitRule price = only(rules.match(domain, d("price", "4.50")));
    assertEquals(LimitUnit.WEEK, price.unit());
    assertEquals(4294967295L, price.requestsPerUnit());
    assertEquals(List.of(), rules.match(domain, d("price", "4.5")));

    RateLimitRule flag = only(rules.match(domain, d("flag", "true")));
    assertEquals(LimitUnit.MONTH, flag.unit());
    assertEquals(0, flag.requestsPerUnit());

    RateLimitRule yearly = only(rules.match(domain, d("yearly", "x")));
    assertFalse(yearly.unlimited());
    assertEquals(LimitUnit.YEAR, yearly.unit());

    assertEquals(List.of(), rules.match(domain, d("empty", "x")));
  }

  @Test
  void yamlNumberValueLoadsAsItsText() throws Exception {
    RuleSet rules = ConfigLoader.parse(Map.of("n.yaml", """
        domain: n
        descriptors:
          - key: code
            value: 123
            rate_limit:
              unit: second
              requests_per_unit: 1
        """));
    assertEquals(1, rules.match("n", d("code", "123")).size());
  }

  @ParameterizedTest
  @ValueSource(strings = {"upper", "lower", "title"})
  void unitsAreCaseInsensitive(String value) throws Exception {
    RuleSet rules = ConfigLoader.load(resource("config/good/units.yaml"));
    assertEquals(3, rules.limitCount());
    assertEquals(LimitUnit.SECOND, only(rules.match("units", d("unit", value))).unit());
  }

  @Test
  void domainWithoutDescriptorsLoadsWithNoLimits() throws Exception {
    RuleSet rules = ConfigLoader.parse(Map.of("a.yaml", "domain: a\n", "b.yaml",
        "domain: b\ndescriptors:\n"));
    assertEquals(Set.of("a", "b"), rules.domains().keySet());
    assertEquals(0, rules.limitCount());
    assertTrue(rules.hasDomain("a"));
  }

  private static RateLimitRule only(List<RateLimitRule> rules) {
    assertEquals(1, rules.size(), () -> "expected one rule, got " + rules);
    return rules.get(0);
  }

  private static Path resource(String name) throws URISyntaxException {
    var url = ConfigLoaderTest.class.getClassLoader().getResource(name);
    if (url == null) {
      throw new IllegalStateException("missing test resource " + name);
    }
    return Path.of(url.toURI());
  }

  /** A descriptor from key, value pairs. */
  private static Entries d(String... keysAndValues) {
    return Entries.of(keysAndValues);
  }


  @Test
  void yamlMergeKeysFillInFields() throws Exception {
    RuleSet rules = ConfigLoader.parse(Map.of("merge.yaml", """
        domain: merge
        descriptors:
          - key: a
            rate_limit: &base {unit: minute, requests_per_unit: 5, name: base}
          - key: b
            rate_limit:
              <<: *base
              requests_per_unit: 7
        """));
    assertEquals(2, rules.limitCount());
    var b = rules.domains().get("merge").children().get("b").any().limits().get(0);
    assertEquals(7, b.requestsPerUnit(), "explicit fields win over merged ones");
    assertEquals(LimitUnit.MINUTE, b.unit());
    assertEquals("base", b.name());
  }

  @Test
  void quotaModeAndMetadataLoad() throws Exception {
    RuleSet rules = ConfigLoader.parse(Map.of("q.yaml", """
        domain: q
        descriptors:
          - key: plan
            quota_mode: true
            metadata: {team: billing, tags: [a, b]}
            rate_limit: {unit: day, requests_per_unit: 5}
        """));
    assertTrue(rules.domains().get("q").children().get("plan").any().limits().get(0)
        .quotaMode());
  }

  @Test
  void metadataMustBeAMapping() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(Map.of(
        "m.yaml", "domain: m\ndescriptors:\n  - key: k\n    metadata: [1]\n")));
    assertEquals("m.yaml:4: descriptors[0].metadata: expected a mapping, found a list",
        e.getMessage());
  }
}
