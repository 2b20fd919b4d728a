package io.tollgate.limiter.protocol;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static io.tollgate.limiter.testing.Requests.withHits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.envoyproxy.envoy.type.v3.RateLimitUnit;
import io.tollgate.limiter.testing.LimiterExtension;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.TestInfo;

/**
 * Envoy's ShouldRateLimit against a real server (grid member, gRPC over loopback) whose clock the
 * test moves. Each test uses descriptor values of its own, so they share one server.
 */
class ShouldRateLimitTest {

  @RegisterExtension
  static final LimiterExtension LIMITER = new LimiterExtension("/service/rules.yaml");

  private String id;

  @org.junit.jupiter.api.BeforeEach
  void name(TestInfo info) {
    id = info.getTestMethod().orElseThrow().getName();
  }

  private static RateLimitResponse call(RateLimitRequest request) {
    return LIMITER.limiter().client.call(request);
  }

  private static RateLimitResponse call(RateLimitDescriptor... descriptors) {
    return call(request("test", descriptors));
  }

  /** Units left on a descriptor, without taking any. */
  private static long remaining(RateLimitDescriptor d) {
    return Integer.toUnsignedLong(call(withHits(d, 0)).getStatuses(0).getLimitRemaining());
  }

  private static long secondsToNextMinute() {
    long now = LIMITER.clock().epochNanos();
    long minute = 60_000_000_000L;
    long end = Math.floorDiv(now, minute) * minute + minute;
    return (end - now + 999_999_999L) / 1_000_000_000L;
  }

  @Test
  void countsDownThenDeniesWithinTheWindow() {
    RateLimitDescriptor d = descriptor("three", id);
    for (int i = 2; i >= 0; i--) {
      RateLimitResponse r = call(d);
      assertEquals(Code.OK, r.getOverallCode());
      DescriptorStatus s = r.getStatuses(0);
      assertEquals(Code.OK, s.getCode());
      assertEquals(3, s.getCurrentLimit().getRequestsPerUnit());
      assertEquals(RateLimitResponse.RateLimit.Unit.MINUTE, s.getCurrentLimit().getUnit());
      assertEquals(i, s.getLimitRemaining());
      assertEquals(Duration.newBuilder().setSeconds(secondsToNextMinute()).build(),
          s.getDurationUntilReset());
    }
    RateLimitResponse denied = call(d);
    assertEquals(Code.OVER_LIMIT, denied.getOverallCode());
    assertEquals(Code.OVER_LIMIT, denied.getStatuses(0).getCode());
    assertEquals(0, denied.getStatuses(0).getLimitRemaining());
  }

  @Test
  void nextWindowStartsAfresh() {
    RateLimitDescriptor d = descriptor("one", id);
    assertEquals(Code.OK, call(d).getOverallCode());
    assertEquals(Code.OVER_LIMIT, call(d).getOverallCode());
    LIMITER.clock().advance(secondsToNextMinute(), TimeUnit.SECONDS);
    assertEquals(Code.OK, call(d).getOverallCode());
  }

  @Test
  void statusesComeInRequestOrderAndUnmatchedDescriptorsAreOk() {
    RateLimitResponse r = call(descriptor("nothing_matches", "x"), descriptor("five", id),
        descriptor("unlimited", "anything"), descriptor("path", "/api", "user", id));
    assertEquals(4, r.getStatusesCount());
    assertEquals(DescriptorStatus.newBuilder().setCode(Code.OK).build(), r.getStatuses(0));
    assertEquals(5, r.getStatuses(1).getCurrentLimit().getRequestsPerUnit());
    assertEquals(4, r.getStatuses(1).getLimitRemaining());
    assertEquals(DescriptorStatus.newBuilder().setCode(Code.OK).setLimitRemaining(-1).build(),
        r.getStatuses(2));
    assertEquals(RateLimitResponse.RateLimit.Unit.HOUR, r.getStatuses(3).getCurrentLimit()
        .getUnit());
    assertEquals(1, r.getStatuses(3).getLimitRemaining());
  }

  @Test
  void unknownDomainIsOk() {
    RateLimitResponse r = call(request("no_such_domain", descriptor("three", id)));
    assertEquals(Code.OK, r.getOverallCode());
    assertFalse(r.getStatuses(0).hasCurrentLimit());
  }

  @Test
  void hitsAddendOfTheRequestAndOfADescriptor() {
    RateLimitDescriptor d = descriptor("five", id);
    RateLimitResponse r = call(request("test", d).toBuilder().setHitsAddend(3).build());
    assertEquals(2, r.getStatuses(0).getLimitRemaining());
    assertEquals(2, remaining(d), "hits_addend 0 on a descriptor only reports");
    r = call(request("test", withHits(d, 2)).toBuilder().setHitsAddend(5).build());
    assertEquals(0, r.getStatuses(0).getLimitRemaining(), "the descriptor's addend wins");
    assertEquals(Code.OVER_LIMIT, call(d).getOverallCode());
  }

  @Test
  void aRequestThatCannotFitIsDeniedAndTakesNothing() {
    RateLimitDescriptor d = descriptor("five", id);
    RateLimitResponse r = call(withHits(d, 6));
    assertEquals(Code.OVER_LIMIT, r.getOverallCode());
    assertEquals(5, remaining(d));
  }

  @Test
  void deniedRequestConsumesNothingOnAnyDescriptor() {
    RateLimitDescriptor wide = descriptor("five", id);
    RateLimitDescriptor narrow = descriptor("one", id);
    assertEquals(Code.OK, call(wide, narrow).getOverallCode());
    assertEquals(4, remaining(wide));
    RateLimitResponse denied = call(wide, narrow);
    assertEquals(Code.OVER_LIMIT, denied.getOverallCode());
    assertEquals(Code.OK, denied.getStatuses(0).getCode());
    assertEquals(4, denied.getStatuses(0).getLimitRemaining(),
        "the status shows the units given back");
    assertEquals(Code.OVER_LIMIT, denied.getStatuses(1).getCode());
    assertEquals(4, remaining(wide), "the denied request took nothing from the wide limit");
  }

  @Test
  void severalLimitsOnOneDescriptorMustAllPass() {
    RateLimitDescriptor d = descriptor("two_limits", id);
    RateLimitResponse first = call(d);
    assertEquals(Code.OK, first.getOverallCode());
    assertEquals(1, first.getStatuses(0).getLimitRemaining(), "the tighter limit is reported");
    assertEquals(RateLimitResponse.RateLimit.Unit.SECOND,
        first.getStatuses(0).getCurrentLimit().getUnit());
    assertEquals(Code.OK, call(d).getOverallCode());
    RateLimitResponse perSecond = call(d);
    assertEquals(Code.OVER_LIMIT, perSecond.getOverallCode());
    assertEquals(RateLimitResponse.RateLimit.Unit.SECOND,
        perSecond.getStatuses(0).getCurrentLimit().getUnit());
    LIMITER.clock().advance(1, TimeUnit.SECONDS);
    assertEquals(Code.OK, call(d).getOverallCode(), "third of the minute");
    LIMITER.clock().advance(1, TimeUnit.SECONDS);
    RateLimitResponse perMinute = call(d);
    if (perMinute.getOverallCode() == Code.OVER_LIMIT) {
      assertEquals(RateLimitResponse.RateLimit.Unit.MINUTE,
          perMinute.getStatuses(0).getCurrentLimit().getUnit());
    } else {
      // The two seconds crossed a minute boundary; the minute limit started over.
      assertTrue(secondsToNextMinute() >= 58);
    }
  }

  @Test
  void shadowModeReportsOkButCountsTheOverage() throws Exception {
    RateLimitDescriptor d = descriptor("shadow", id);
    String sample = "ratelimit_shadow_mode_total{rule=\"test.shadow\"}";
    double before = LIMITER.limiter().metric(sample);
    assertEquals(Code.OK, call(d).getOverallCode());
    RateLimitResponse over = call(d);
    assertEquals(Code.OK, over.getOverallCode());
    assertEquals(Code.OK, over.getStatuses(0).getCode());
    assertEquals(0, over.getStatuses(0).getLimitRemaining());
    assertEquals(before + 1, LIMITER.limiter().metric(sample));
  }

  @Test
  void replacesDropsTheNamedLimit() {
    RateLimitDescriptor old = descriptor("old", id);
    RateLimitDescriptor replacing = descriptor("new", id);
    assertEquals(Code.OK, call(old).getOverallCode());
    assertEquals(Code.OVER_LIMIT, call(old).getOverallCode());
    RateLimitResponse r = call(old, replacing);
    assertEquals(Code.OK, r.getOverallCode(), "the old limit no longer applies");
    assertEquals(DescriptorStatus.newBuilder().setCode(Code.OK).build(), r.getStatuses(0));
    assertEquals(9, r.getStatuses(1).getLimitRemaining());
  }

  @Test
  void limitOverrideInTheDescriptorApplies() {
    RateLimitDescriptor d = descriptor("nothing_configured", id).toBuilder()
        .setLimit(RateLimitDescriptor.RateLimitOverride.newBuilder().setRequestsPerUnit(2)
            .setUnit(RateLimitUnit.HOUR))
        .build();
    RateLimitResponse r = call(d);
    assertEquals(2, r.getStatuses(0).getCurrentLimit().getRequestsPerUnit());
    assertEquals(RateLimitResponse.RateLimit.Unit.HOUR, r.getStatuses(0).getCurrentLimit()
        .getUnit());
    assertEquals(1, r.getStatuses(0).getLimitRemaining());
    assertEquals(Code.OK, call(d).getOverallCode());
    assertEquals(Code.OVER_LIMIT, call(d).getOverallCode());
  }

  @Test
  void tokenBucketRefillsWithTime() {
    RateLimitDescriptor d = descriptor("bucket", id);
    for (int i = 0; i < 3; i++) {
      assertEquals(Code.OK, call(d).getOverallCode(), "burst of 3");
    }
    RateLimitResponse denied = call(d);
    assertEquals(Code.OVER_LIMIT, denied.getOverallCode());
    assertEquals(1, denied.getStatuses(0).getDurationUntilReset().getSeconds(),
        "one token per second");
    LIMITER.clock().advance(1, TimeUnit.SECONDS);
    assertEquals(Code.OK, call(d).getOverallCode());
    assertEquals(Code.OVER_LIMIT, call(d).getOverallCode());
    LIMITER.clock().advance(10, TimeUnit.SECONDS);
    assertEquals(3, remaining(d), "refill stops at the burst");
  }

  @Test
  void slidingWindowHasNoEdgeBurst() {
    RateLimitDescriptor d = descriptor("sliding", id);
    // Move to 1 s before a minute boundary and spend the whole limit there.
    LIMITER.clock().advance(secondsToNextMinute() - 1, TimeUnit.SECONDS);
    RateLimitResponse r = call(request("test", d).toBuilder().setHitsAddend(4).build());
    assertEquals(Code.OK, r.getOverallCode());
    LIMITER.clock().advance(2, TimeUnit.SECONDS);
    assertEquals(Code.OVER_LIMIT, call(d).getOverallCode(),
        "a fixed window would allow 4 more here");
    LIMITER.clock().advance(66, TimeUnit.SECONDS);
    assertEquals(Code.OK, call(d).getOverallCode());
  }

  @Test
  void detailedMetricCarriesTheValues() throws Exception {
    call(descriptor("detailed", id));
    assertEquals(1, LIMITER.limiter().metric("ratelimit_total_hits_total{rule=\"test.detailed_" + id
        + "\"}"));
  }

  @Test
  void perRuleMetricsCountHitsAndOverLimit() throws Exception {
    RateLimitDescriptor d = descriptor("path", "/api", "user", id);
    String rule = "{rule=\"test.path_/api.user\"}";
    double hits = LIMITER.limiter().metric("ratelimit_total_hits_total" + rule);
    double over = LIMITER.limiter().metric("ratelimit_over_limit_total" + rule);
    double within = LIMITER.limiter().metric("ratelimit_within_limit_total" + rule);
    double near = LIMITER.limiter().metric("ratelimit_near_limit_total" + rule);
    call(d);
    call(d);
    call(d);
    assertEquals(hits + 3, LIMITER.limiter().metric("ratelimit_total_hits_total" + rule));
    assertEquals(within + 2, LIMITER.limiter().metric("ratelimit_within_limit_total" + rule));
    assertEquals(over + 1, LIMITER.limiter().metric("ratelimit_over_limit_total" + rule));
    // Limit 2, near-limit threshold floor(2 * 0.8) = 1: the second hit is near the limit.
    assertEquals(near + 1, LIMITER.limiter().metric("ratelimit_near_limit_total" + rule));
  }

  @Test
  void hitsAddendAboveTwoToTheThirtyOneIsAHugeCostNotANegativeOne() {
    RateLimitDescriptor d = descriptor("five", id);
    for (int addend : new int[] {-1, Integer.MIN_VALUE}) { // 4294967295 and 2147483648 as uint32
      RateLimitResponse r = call(request("test", d).toBuilder().setHitsAddend(addend).build());
      assertEquals(Code.OVER_LIMIT, r.getOverallCode());
    }
    assertEquals(5, remaining(d), "nothing taken, nothing given");
  }

  @Test
  void limitOverrideAboveTwoToTheThirtyOneWorks() {
    RateLimitDescriptor d = descriptor("nothing_configured", id).toBuilder()
        .setLimit(RateLimitDescriptor.RateLimitOverride.newBuilder().setRequestsPerUnit(-1)
            .setUnit(RateLimitUnit.HOUR))
        .build();
    RateLimitResponse r = call(d);
    assertEquals(Code.OK, r.getOverallCode());
    assertEquals(-1, r.getStatuses(0).getCurrentLimit().getRequestsPerUnit());
    assertEquals(-2, r.getStatuses(0).getLimitRemaining(), "4294967294 as uint32");
  }

  @Test
  void aReplacedUnlimitedRuleStaysUnlimited() {
    RateLimitResponse r = call(descriptor("vip", id), descriptor("replacer", id));
    assertEquals(DescriptorStatus.newBuilder().setCode(Code.OK).setLimitRemaining(-1).build(),
        r.getStatuses(0));
    assertEquals(9, r.getStatuses(1).getLimitRemaining());
  }

  @Test
  void detailedMetricOfAnEmptyValueKeepsTheSeparator() {
    call(descriptor("detailed", ""));
    assertTrue(LIMITER.limiter().metric("ratelimit_total_hits_total{rule=\"test.detailed_\"}") >= 1);
  }

  @Test
  void quotaModeDeniesOnlyWhenEveryQuotaDescriptorIsOver() {
    RateLimitDescriptor a = descriptor("quota_a", id);
    RateLimitDescriptor b = descriptor("quota_b", id);
    assertEquals(Code.OK, call(a, b).getOverallCode());
    RateLimitResponse r = call(a, b);
    assertEquals(Code.OK, r.getOverallCode(), "quota_b still has room");
    assertEquals(Code.OVER_LIMIT, r.getStatuses(0).getCode());
    assertEquals(3, remaining(b), "an allowed request keeps what it took");
    assertEquals(Code.OVER_LIMIT, call(a).getOverallCode(), "every quota descriptor is over");
    assertEquals(Code.OVER_LIMIT, call(descriptor("five", id), a).getOverallCode());
    assertEquals(5, remaining(descriptor("five", id)), "and a denied request takes nothing");
  }

  @Test
  void shareThresholdGivesEveryMatchingValueOneCounter() {
    assertEquals(1, call(descriptor("file", "/files/a")).getStatuses(0).getLimitRemaining());
    assertEquals(0, call(descriptor("file", "/files/b")).getStatuses(0).getLimitRemaining());
    assertEquals(Code.OVER_LIMIT, call(descriptor("file", "/files/c")).getOverallCode());
  }

  @Test
  void valueToMetricPutsTheRequestValueInTheMetricName() {
    call(descriptor("tenant", id));
    assertEquals(1, LIMITER.limiter().metric("ratelimit_total_hits_total{rule=\"test.tenant_" + id
        + "\"}"));
    assertEquals(99, remaining(descriptor("tenant", id)), "each value still has its own counter");
  }
}
