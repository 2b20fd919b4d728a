package io.tollgate.limiter.protocol;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** --response-headers and --shadow-mode. */
class ResponseHeadersTest {

  private static Path rules() throws Exception {
    return Path.of(ResponseHeadersTest.class.getResource("/service/rules.yaml").toURI());
  }

  private static List<HeaderValue> headers(String limit, String remaining, String reset) {
    return List.of(
        HeaderValue.newBuilder().setKey("RateLimit-Limit").setValue(limit).build(),
        HeaderValue.newBuilder().setKey("RateLimit-Remaining").setValue(remaining).build(),
        HeaderValue.newBuilder().setKey("RateLimit-Reset").setValue(reset).build());
  }

  @Test
  void headersDescribeTheDescriptorClosestToItsLimit() throws Exception {
    try (InJvmLimiter limiter = InJvmLimiter.start(rules(), new FakeClock(),
        "--response-headers")) {
      RateLimitResponse r = limiter.client.call(request("test", descriptor("five", "h"),
          descriptor("three", "h"), descriptor("nothing", "x")));
      assertEquals(headers("3", "2", "60"), r.getResponseHeadersToAddList());
      limiter.client.call(request("test", descriptor("one", "h")));
      r = limiter.client.call(request("test", descriptor("three", "h"), descriptor("one", "h")));
      assertEquals(Code.OVER_LIMIT, r.getOverallCode());
      assertEquals(headers("1", "0", "60"), r.getResponseHeadersToAddList(),
          "a denied descriptor is the one reported");
    }
  }

  @Test
  void noHeadersByDefault() throws Exception {
    try (InJvmLimiter limiter = InJvmLimiter.start(rules(), new FakeClock())) {
      RateLimitResponse r = limiter.client.call(request("test", descriptor("five", "h")));
      assertEquals(0, r.getResponseHeadersToAddCount());
    }
  }

  @Test
  void globalShadowModeAnswersOkAndTakesNothingBack() throws Exception {
    try (InJvmLimiter limiter = InJvmLimiter.start(rules(), new FakeClock(),
        "--shadow-mode")) {
      limiter.client.call(request("test", descriptor("one", "s")));
      RateLimitResponse r = limiter.client.call(request("test", descriptor("five", "s"),
          descriptor("one", "s")));
      assertEquals(Code.OK, r.getOverallCode());
      assertEquals(Code.OVER_LIMIT, r.getStatuses(1).getCode(),
          "the status still tells the truth");
      assertEquals(4, r.getStatuses(0).getLimitRemaining());
    }
  }
}
