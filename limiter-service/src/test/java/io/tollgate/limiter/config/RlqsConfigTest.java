package io.tollgate.limiter.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tollgate.limiter.rule.RlqsDomain;
import io.tollgate.limiter.rule.RuleSet;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A rule file's {@code rlqs:} block. */
class RlqsConfigTest {

  private static RuleSet load(String yaml) throws ConfigException {
    return ConfigLoader.load(Map.of("r.yaml", yaml)).rules();
  }

  @Test
  void theDeployExampleLoads() throws Exception {
    RuleSet rules = ConfigLoader.load(Path.of("..", "deploy", "envoy", "rlqs-rules.yaml"));
    assertEquals(new RlqsDomain(List.of("tenant", "method"), "allow_all", 2),
        rules.rlqs("edge-rlqs"));
  }

  @Test
  void aDomainWithoutTheBlockHasTheDefaults() throws Exception {
    RuleSet rules = load("domain: d\ndescriptors: []\n");
    assertEquals(RlqsDomain.DEFAULT, rules.rlqs("d"));
    assertEquals(RlqsDomain.DEFAULT, rules.rlqs("unknown"));
  }

  @Test
  void problemsNameTheField() {
    assertEquals("r.yaml:2: rlqs.unmatched: unknown action 'deny' (expected allow_all or deny_all)",
        assertThrows(ConfigException.class, () -> load(
            "domain: d\nrlqs: {unmatched: deny}\n")).getMessage());
    assertEquals("r.yaml:2: rlqs.bucket_key_order[1]: key 'a' is listed twice",
        assertThrows(ConfigException.class, () -> load(
            "domain: d\nrlqs: {bucket_key_order: [a, a]}\n")).getMessage());
    assertEquals("r.yaml:2: rlqs.min_share: expected a whole number from 1 to 4294967295, "
        + "found '0'", assertThrows(ConfigException.class, () -> load(
            "domain: d\nrlqs: {min_share: 0}\n")).getMessage());
    assertThrows(ConfigException.class, () -> load("domain: d\nrlqs: {key_order: [a]}\n"));
  }
}
