package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.RateLimit;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

/** Retry-After and the reset headers of /check when several limits apply (review rev67). */
class CheckRetryAfterTest {

  private static DescriptorStatus over(RateLimit.Unit unit, int limit, long resetSeconds) {
    return status(Code.OVER_LIMIT, unit, limit, 0, resetSeconds, 0);
  }

  private static DescriptorStatus status(Code code, RateLimit.Unit unit, int limit,
      int remaining, long seconds, int nanos) {
    return DescriptorStatus.newBuilder().setCode(code)
        .setCurrentLimit(RateLimit.newBuilder().setRequestsPerUnit(limit).setUnit(unit))
        .setLimitRemaining(remaining)
        .setDurationUntilReset(Duration.newBuilder().setSeconds(seconds).setNanos(nanos))
        .build();
  }

  private static RateLimitRequest twoDescriptors() {
    return RateLimitRequest.newBuilder().setDomain("d")
        .addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
            RateLimitDescriptor.Entry.newBuilder().setKey("per_second").setValue("x")))
        .addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
            RateLimitDescriptor.Entry.newBuilder().setKey("per_day").setValue("x")))
        .build();
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
    HttpHeaders out = new DefaultHttpHeaders();
    CheckEndpoint.addHeaders(request, response, out);
    // Retrying after 1 s is refused again by the day limit for 10 hours.
    assertEquals("36000", out.get("Retry-After"));
  }

  @Test
  void retryAfterIgnoresLimitsThatDidNotDeny() {
    RateLimitResponse response = RateLimitResponse.newBuilder().setOverallCode(Code.OVER_LIMIT)
        .addStatuses(over(RateLimit.Unit.MINUTE, 10, 30))
        .addStatuses(status(Code.OK, RateLimit.Unit.DAY, 1000, 5, 36_000, 0))
        .build();
    HttpHeaders out = new DefaultHttpHeaders();
    CheckEndpoint.addHeaders(twoDescriptors(), response, out);
    assertEquals("30", out.get("Retry-After"));
  }

  @Test
  void resetsRoundUpToWholeSeconds() {
    RateLimitResponse ok = RateLimitResponse.newBuilder().setOverallCode(Code.OK)
        .addStatuses(status(Code.OK, RateLimit.Unit.MINUTE, 10, 3, 59, 1))
        .build();
    RateLimitRequest one = RateLimitRequest.newBuilder().setDomain("d")
        .addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
            RateLimitDescriptor.Entry.newBuilder().setKey("k").setValue("v"))).build();
    HttpHeaders out = new DefaultHttpHeaders();
    CheckEndpoint.addHeaders(one, ok, out);
    assertEquals("60", out.get("X-RateLimit-Reset"));
    assertEquals("\"k\";r=3;t=60", out.get("RateLimit"));

    RateLimitResponse over = RateLimitResponse.newBuilder().setOverallCode(Code.OVER_LIMIT)
        .addStatuses(status(Code.OVER_LIMIT, RateLimit.Unit.SECOND, 10, 0, 0, 300_000_000))
        .addStatuses(status(Code.OVER_LIMIT, RateLimit.Unit.MINUTE, 10, 0, 4, 500_000_000))
        .build();
    out = new DefaultHttpHeaders();
    CheckEndpoint.addHeaders(twoDescriptors(), over, out);
    assertEquals("1", out.get("X-RateLimit-Reset"));
    assertEquals("5", out.get("Retry-After"));
    // Exact seconds stay as they are.
    assertEquals(7, CheckEndpoint.ceilSeconds(Duration.newBuilder().setSeconds(7).build()));
  }
}
