package io.tollgate.limiter.config;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static io.tollgate.limiter.testing.Requests.withHits;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Edits to the config files of a running server, good and bad. */
class ConfigReloadTest {

  @TempDir
  Path dir;

  private static String rules(int perMinute) {
    return "domain: web\ndescriptors:\n  - key: ip\n    rate_limit: {unit: minute, "
        + "requests_per_unit: " + perMinute + "}\n";
  }

  @Test
  void goodEditAppliesWithoutRestartAndBadEditKeepsTheLastGood() throws Exception {
    Path file = dir.resolve("web.yaml");
    Files.writeString(file, rules(5));
    try (InJvmLimiter limiter = InJvmLimiter.start(dir, new FakeClock())) {
      var probe = request("web", withHits(descriptor("ip", "1.2.3.4"), 0));
      assertEquals(5, limiter.client.call(probe).getStatuses(0).getCurrentLimit()
          .getRequestsPerUnit());

      Files.writeString(file, rules(7));
      Awaits.await("the edit to apply", Duration.ofSeconds(10), () -> limiter.client.call(probe)
          .getStatuses(0).getCurrentLimit().getRequestsPerUnit() == 7);
      assertEquals(2, limiter.metric("ratelimit_config_loads_total{result=\"success\"}"));

      Files.writeString(file, rules(9).replace("minute", "fortnight"));
      Awaits.await("the bad edit to be counted", Duration.ofSeconds(10),
          () -> limiter.metric("ratelimit_config_loads_total{result=\"error\"}") == 1);
      assertEquals(7, limiter.client.call(probe).getStatuses(0).getCurrentLimit()
          .getRequestsPerUnit(), "the last good config stays in force");
      assertEquals(Code.OK, limiter.client.call(request("web", descriptor("ip", "5.6.7.8")))
          .getOverallCode());

      // A new domain in a new file.
      Files.writeString(dir.resolve("api.yml"), rules(3).replace("web", "api"));
      Files.writeString(file, rules(9));
      Awaits.await("the fixed config to apply", Duration.ofSeconds(10),
          () -> limiter.client.call(request("api", withHits(descriptor("ip", "x"), 0)))
              .getStatuses(0).getCurrentLimit().getRequestsPerUnit() == 3);
      assertEquals(9, limiter.client.call(probe).getStatuses(0).getCurrentLimit()
          .getRequestsPerUnit());
    }
  }
}
