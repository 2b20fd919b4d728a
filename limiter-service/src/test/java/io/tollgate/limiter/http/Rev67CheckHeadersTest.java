package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Duration;
import com.sun.net.httpserver.Headers;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.RateLimit;
import org.junit.jupiter.api.Test;

/** Review rev67: Retry-After when several limits deny. */
class Rev67CheckHeadersTest {

  private static DescriptorStatus over(RateLimit.Unit unit, int limit, long resetSeconds) {
    return DescriptorStatus.newBuilder().setCode(Code.OVER_LIMIT)
        .setCurrentLimit(RateLimit.newBuilder().setRequestsPerUnit(limit).setUnit(unit))
        .setLimitRemaining(0)
        .setDurationUntilReset(Duration.newBuilder().setSeconds(resetSeconds)).build();
  }

  @Test
  void retryAfterIsTheLatestResetOfTheDenyingLimits() {
    RateLimitRequest request = RateLimitRequest.newBuilder().setDomain("d")
        .addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
            RateLimitDescriptor.Entry.newBuilder().setKey("per_second").setValue("x")))
        .addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
            RateLimitDescriptor.Entry.newBuilder().setKey("per_day").setValue("x")))
        .build();
    RateLimitResponse response = RateLimitResponse.newBuilder().setOverallCode(Code.OVER_LIMIT)
        .addStatuses(over(RateLimit.Unit.SECOND, 10, 1))
        .addStatuses(over(RateLimit.Unit.DAY, 1000, 36_000))
        .build();
    Headers out = new Headers();
    CheckEndpoint.addHeaders(request, response, out);
    // Retrying after 1 s is refused again by the day limit for 10 hours.
    assertEquals("36000", out.getFirst("Retry-After"));
  }
}
