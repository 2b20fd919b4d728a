package io.tollgate.limiter.rule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.config.ConfigException;
import io.tollgate.limiter.config.ConfigLoader;
import io.tollgate.limiter.testing.Entries;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RuleSetTest {

  /** Parses one domain, {@code d}, from YAML text. */
  private static RuleSet rules(String yaml) throws ConfigException {
    return ConfigLoader.parse(Map.of("x.yaml", yaml));
  }

  /** A limit named {@code name}: one request per second. */
  private static String limit(String name) {
    return "{name: " + name + ", unit: second, requests_per_unit: 1}";
  }

  /** The names of the matched limits, in order. */
  private static List<String> match(RuleSet rules, String... keysAndValues) {
    return rules.match("d", new Entries(keysAndValues)).stream().map(RateLimitRule::name)
        .toList();
  }

  @Test
  void exactValueMatches() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: path
            value: /login
            rate_limit: %s
        """.formatted(limit("login")));
    assertEquals(List.of("login"), match(rules, "path", "/login"));
    assertEquals(List.of(), match(rules, "path", "/logout"));
    assertEquals(List.of(), match(rules, "path", "/login/"));
    assertEquals(List.of(), match(rules, "other", "/login"));
  }

  @Test
  void keyWithoutValueMatchesAnyValue() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: remote_address
            rate_limit: %s
        """.formatted(limit("per_ip")));
    assertEquals(List.of("per_ip"), match(rules, "remote_address", "10.0.0.1"));
    assertEquals(List.of("per_ip"), match(rules, "remote_address", ""));
    assertEquals(List.of(), match(rules, "remote", "10.0.0.1"));
  }

  @ParameterizedTest(name = "''{0}'' vs ''{1}'' -> {2}")
  @CsvSource(delimiter = '|', value = {
      "/api/*  | /api/     | true",
      "/api/*  | /api/v1/x | true",
      "/api/*  | /api      | false",
      "/api/*  | x/api/v1  | false",
      "a*b*c   | abc       | true",
      "a*b*c   | aXbYc     | true",
      "a*b*c   | abbc      | true",
      "a*b*c   | acbc      | true",
      "a*b*c   | ab        | false",
      "a*b*c   | abcd      | false",
      "a*b*c   | xabc      | false",
      "a*b*c   | acb       | false",
      "a*a     | a         | false",
      "a*a     | aa        | true",
      "*.txt   | .txt      | true",
      "*.txt   | a.txt.gz  | false",
      "*       | anything  | true",
      "a**b    | ab        | true",
  })
  void wildcardMatchesAnyRunOfCharacters(String pattern, String value, boolean matches)
      throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: k
            value: "%s"
            rate_limit: %s
        """.formatted(pattern, limit("w")));
    assertEquals(matches ? List.of("w") : List.of(), match(rules, "k", value));
  }

  @Test
  void exactBeatsWildcardBeatsKeyOnly() throws Exception {
    // Declared in the reverse of their precedence, so config order cannot explain the result.
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: user
            rate_limit: %s
          - key: user
            value: "internal-*"
            rate_limit: %s
          - key: user
            value: internal-admin
            rate_limit: %s
        """.formatted(limit("any"), limit("wildcard"), limit("exact")));
    assertEquals(List.of("exact"), match(rules, "user", "internal-admin"));
    assertEquals(List.of("wildcard"), match(rules, "user", "internal-bob"));
    assertEquals(List.of("any"), match(rules, "user", "bob"));
  }

  @Test
  void firstWildcardInConfigOrderWins() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: path
            value: "/api/v1/*"
            rate_limit: %s
          - key: path
            value: "/api/*"
            rate_limit: %s
          - key: path
            value: "*/users"
            rate_limit: %s
        """.formatted(limit("v1"), limit("api"), limit("users")));
    assertEquals(List.of("v1"), match(rules, "path", "/api/v1/users"));
    assertEquals(List.of("api"), match(rules, "path", "/api/v2/users"));
    assertEquals(List.of("users"), match(rules, "path", "/admin/users"));

    RuleSet reversed = rules("""
        domain: d
        descriptors:
          - key: path
            value: "*/users"
            rate_limit: %s
          - key: path
            value: "/api/*"
            rate_limit: %s
        """.formatted(limit("users"), limit("api")));
    assertEquals(List.of("users"), match(reversed, "path", "/api/v2/users"));
  }

  @Test
  void nestedDescriptorsFollowEveryEntry() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: message_type
            value: marketing
            descriptors:
              - key: to_number
                rate_limit: %s
          - key: to_number
            rate_limit: %s
        """.formatted(limit("marketing"), limit("per_number")));
    assertEquals(List.of("marketing"),
        match(rules, "message_type", "marketing", "to_number", "555"));
    assertEquals(List.of("per_number"), match(rules, "to_number", "555"));
    assertEquals(List.of(), match(rules, "message_type", "alert", "to_number", "555"));
  }

  @Test
  void descriptorShorterThanTheTreeGetsNoLimit() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: a
            descriptors:
              - key: b
                rate_limit: %s
        """.formatted(limit("ab")));
    assertEquals(List.of("ab"), match(rules, "a", "1", "b", "2"));
    assertEquals(List.of(), match(rules, "a", "1"));
    assertEquals(List.of(), match(rules));
  }

  @Test
  void descriptorLongerThanTheTreeGetsNoLimit() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: a
            rate_limit: %s
        """.formatted(limit("a")));
    assertEquals(List.of("a"), match(rules, "a", "1"));
    assertEquals(List.of(), match(rules, "a", "1", "b", "2"));
    assertEquals(List.of(), match(rules, "a", "1", "a", "1"));
  }

  @Test
  void unknownDomainGetsNoLimit() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: a
            rate_limit: %s
        """.formatted(limit("a")));
    assertEquals(List.of(), rules.match("other", new Entries("a", "1")));
    assertFalse(rules.hasDomain("other"));
    assertEquals(List.of(), RuleSet.EMPTY.match("d", new Entries("a", "1")));
  }

  @Test
  void unmatchedEntryMidPathGetsNoLimit() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: a
            descriptors:
              - key: b
                value: "2"
                descriptors:
                  - key: c
                    rate_limit: %s
        """.formatted(limit("abc")));
    assertEquals(List.of("abc"), match(rules, "a", "1", "b", "2", "c", "3"));
    assertEquals(List.of(), match(rules, "a", "1", "b", "9", "c", "3"));
    assertEquals(List.of(), match(rules, "a", "1", "x", "2", "c", "3"));
    // Entries are matched in order, not as a set.
    assertEquals(List.of(), match(rules, "b", "2", "a", "1", "c", "3"));
  }

  @Test
  void severalRateLimitsOnOneNodeAreAllReturnedInOrder() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: a
            rate_limit: %s
            rate_limits:
              - %s
              - %s
        """.formatted(limit("single"), limit("first"), limit("second")));
    assertEquals(List.of("single", "first", "second"), match(rules, "a", "1"));
    assertEquals(3, rules.limitCount());
  }

  @Test
  void unlimitedRuleIsReturnedAsUnlimited() throws Exception {
    RuleSet rules = rules("""
        domain: d
        descriptors:
          - key: user
            value: "internal-*"
            rate_limit:
              name: exempt
              unlimited: true
          - key: user
            rate_limit: %s
        """.formatted(limit("per_user")));
    List<RateLimitRule> exempt = rules.match("d", new Entries("user", "internal-bot"));
    assertEquals(1, exempt.size());
    RateLimitRule rule = exempt.get(0);
    assertEquals("exempt", rule.name());
    assertTrue(rule.unlimited());
    assertNull(rule.unit());
    assertNull(rule.algorithm());
    assertEquals(List.of("per_user"), match(rules, "user", "bob"));
  }

  @Test
  void limitCountCountsEveryLimitInEveryDomain() throws Exception {
    RuleSet rules = ConfigLoader.parse(Map.of(
        "a.yaml", """
            domain: a
            descriptors:
              - key: k
                rate_limits: [%s, %s]
                descriptors:
                  - key: n
                    value: "x*"
                    rate_limit: %s
            """.formatted(limit("1"), limit("2"), limit("3")),
        "b.yaml", """
            domain: b
            descriptors:
              - key: k
                value: v
                rate_limit: %s
              - key: empty
            """.formatted(limit("4"))));
    assertEquals(4, rules.limitCount());
    assertEquals(0, RuleSet.EMPTY.limitCount());
  }

  @Test
  void matchPathFindsTheSameLimitsAndNamesCountersAndMetrics() throws Exception {
    RuleSet rules = ConfigLoader.parse(Map.of("p.yaml", """
        domain: p
        descriptors:
          - key: file
            value: "/f/*"
            share_threshold: true
            rate_limit: {unit: minute, requests_per_unit: 1, name: shared}
          - key: user
            value_to_metric: true
            descriptors:
              - key: op
                rate_limit: {unit: minute, requests_per_unit: 2, name: per_op}
          - key: plain
            value: "x*"
            rate_limit: {unit: minute, requests_per_unit: 3, name: plain}
        """));
    assertTrue(rules.usesPathFeatures("p"));
    for (Entries d : List.of(Entries.of("file", "/f/a"), Entries.of("user", "u1", "op", "get"),
        Entries.of("plain", "xy"), Entries.of("user", "u1"), Entries.of("nope", "1"))) {
      assertEquals(rules.match("p", d), rules.matchPath("p", d).limits(), d.toString());
    }
    RuleSet.PathMatch shared = rules.matchPath("p", Entries.of("file", "/f/a"));
    assertEquals("/f/*", shared.keyValues()[0]);
    assertEquals("p.file_/f/*", shared.statKey());
    assertEquals("p.file_/f/*", shared.detailedStatKey());
    RuleSet.PathMatch user = rules.matchPath("p", Entries.of("user", "u1", "op", "get"));
    assertNull(user.keyValues());
    assertEquals("p.user_u1.op", user.statKey());
    assertEquals("p.plain_x*", rules.matchPath("p", Entries.of("plain", "xy")).statKey());
    assertFalse(ConfigLoader.parse(Map.of("q.yaml", "domain: q\ndescriptors: []\n"))
        .usesPathFeatures("q"));
  }
}
