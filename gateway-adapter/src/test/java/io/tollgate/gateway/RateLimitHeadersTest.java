package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.Duration;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.LimitStatus;
import org.junit.jupiter.api.Test;

class RateLimitHeadersTest {

  static CheckResponse.Builder answer() {
    return CheckResponse.newBuilder()
        .setThrottle(LimitStatus.newBuilder().setLevel("plan").setLimit(10).setRemaining(3)
            .setRate(5).setResetAfter(Duration.newBuilder().setNanos(400_000_000)))
        .setQuota(LimitStatus.newBuilder().setLevel("quota").setLimit(1000).setRemaining(900)
            .setResetAfter(Duration.newBuilder().setSeconds(3600))
            .setWindow(Duration.newBuilder().setSeconds(86400)));
  }

  static ResponseHeaders headers(CheckResponse r, boolean denied) {
    ResponseHeadersBuilder b = ResponseHeaders.builder(HttpStatus.OK);
    RateLimitHeaders.add(b, r, denied);
    return b.build();
  }

  @Test
  void allowedShowsBothPoliciesAndTheTighterAsXRateLimit() {
    ResponseHeaders h = headers(answer().setReason(CheckResponse.Reason.ALLOWED).build(), false);
    assertEquals("\"throttle\";q=10;w=2, \"quota\";q=1000;w=86400", h.get("ratelimit-policy"));
    assertEquals("\"throttle\";r=3;t=1, \"quota\";r=900;t=3600", h.get("ratelimit"));
    assertEquals("10", h.get("x-ratelimit-limit"));
    assertEquals("3", h.get("x-ratelimit-remaining"));
    assertEquals("1", h.get("x-ratelimit-reset"));
    assertNull(h.get("retry-after"));
  }

  @Test
  void aQuotaDenialReportsTheQuotaAndRoundsRetryAfterUp() {
    ResponseHeaders h = headers(answer().setReason(CheckResponse.Reason.QUOTA_EXCEEDED)
        .setRetryAfter(Duration.newBuilder().setSeconds(3599).setNanos(1)).build(), true);
    assertEquals("1000", h.get("x-ratelimit-limit"));
    assertEquals("900", h.get("x-ratelimit-remaining"));
    assertEquals("3600", h.get("retry-after"));
  }

  @Test
  void retryAfterIsAtLeastOneSecond() {
    ResponseHeaders h = headers(answer().setReason(CheckResponse.Reason.THROTTLED)
        .setRetryAfter(Duration.newBuilder()).build(), true);
    assertEquals("1", h.get("retry-after"));
    assertEquals("10", h.get("x-ratelimit-limit"));
  }
}
