package io.tollgate.limiter.protocol;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --max-distinct-values-per-rule} on a real limiter: a flood of made-up values is limited
 * as one caller once the rule has its cap of counters, and the cap is counted in a metric.
 */
class DistinctValueCapEndToEndTest {

  @TempDir
  Path dir;

  @Test
  void newValuesPastTheCapShareOneCounter() throws Exception {
    Files.writeString(dir.resolve("rules.yaml"), """
        domain: edge
        descriptors:
          - key: remote_address
            rate_limit: {requests_per_unit: 2, unit: minute}
        """);
    try (InJvmLimiter limiter = InJvmLimiter.start(dir, new FakeClock(),
        "--max-distinct-values-per-rule", "3")) {
      for (String ip : new String[] {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
        assertEquals(Code.OK, call(limiter, ip));
      }
      // Past the cap: made-up addresses all count on one overflow counter of 2 a minute.
      assertEquals(Code.OK, call(limiter, "192.0.2.1"));
      assertEquals(Code.OK, call(limiter, "192.0.2.2"));
      for (int i = 3; i < 20; i++) {
        assertEquals(Code.OVER_LIMIT, call(limiter, "192.0.2." + i), "made-up address " + i);
      }
      // The addresses known before the cap keep their own counters.
      assertEquals(Code.OK, call(limiter, "10.0.0.1"));
      assertEquals(Code.OVER_LIMIT, call(limiter, "10.0.0.1"));
      assertEquals(Code.OK, call(limiter, "10.0.0.2"));
      assertEquals(19, limiter.metric(
          "ratelimit_rule_distinct_values_capped_total{rule=\"edge.remote_address\"}"));
    }
  }

  private static Code call(InJvmLimiter limiter, String ip) {
    return limiter.client.call(request("edge", descriptor("remote_address", ip)))
        .getOverallCode();
  }
}
