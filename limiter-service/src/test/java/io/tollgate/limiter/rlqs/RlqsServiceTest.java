package io.tollgate.limiter.rlqs;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse.BucketAction;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.type.v3.RateLimitStrategy;
import io.envoyproxy.envoy.type.v3.RateLimitStrategy.BlanketRule;
import io.grpc.Status;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.RlqsStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** StreamRateLimitQuotas against one in-JVM limiter: mapping, defaults, counting, reload. */
class RlqsServiceTest {

  @TempDir
  static Path dir;

  private static final FakeClock CLOCK = new FakeClock();
  private static InJvmLimiter limiter;

  private static final String SVC = """
      domain: svc
      descriptors:
        - key: tenant
          rate_limit: {unit: minute, requests_per_unit: 10}
        - key: free
          rate_limit: {unlimited: true}
      """;

  private static final String GONE = """
      domain: gone
      descriptors:
        - key: tenant
          rate_limit: {unit: second, requests_per_unit: 5}
      """;

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(dir.resolve("svc.yaml"), SVC);
    Files.writeString(dir.resolve("gone.yaml"), GONE);
    Files.writeString(dir.resolve("ordered.yaml"), """
        domain: ordered
        rlqs:
          bucket_key_order: [tenant, method]
          unmatched: deny_all
          min_share: 3
        descriptors:
          - key: tenant
            descriptors:
              - key: method
                rate_limit: {unit: second, requests_per_unit: 50}
        """);
    Files.writeString(dir.resolve("multi.yaml"), """
        domain: multi
        descriptors:
          - key: tenant
            rate_limits:
              - {unit: second, requests_per_unit: 10}
              - {unit: day, requests_per_unit: 100000}
        """);
    limiter = InJvmLimiter.start(dir, CLOCK);
  }

  @Test
  void aDescriptorWithSeveralLimitsGetsABucketWithinEachOfThem() throws Exception {
    try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
      Map<String, String> bucket = Map.of("tenant", "multi-" + UUID.randomUUID());
      s.report("multi", bucket, 0, 0);
      s.next();
      // Heavy demand: 500 a second wants far more than either limit allows.
      s.report(null, bucket, 200, 300);
      var tb = strategy(s.next()).getTokenBucket();
      double perSecond = tb.getMaxTokens() + tb.getTokensPerFill().getValue()
          * (1e9 / (tb.getFillInterval().getSeconds() * 1e9 + tb.getFillInterval().getNanos()));
      assertTrue(perSecond <= 10, "at most 10 in any second: " + tb);
      double perDay = tb.getMaxTokens() + tb.getTokensPerFill().getValue()
          * (86_400e9 / (tb.getFillInterval().getSeconds() * 1e9 + tb.getFillInterval().getNanos()));
      assertTrue(perDay <= 100_000, "at most 100,000 in any day: " + tb);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (limiter != null) {
      limiter.close();
    }
  }

  private static BucketAction only(RateLimitQuotaResponse r) {
    assertEquals(1, r.getBucketActionCount(), r.toString());
    return r.getBucketAction(0);
  }

  private static RateLimitStrategy strategy(RateLimitQuotaResponse r) {
    BucketAction a = only(r);
    assertTrue(a.hasQuotaAssignmentAction(), r.toString());
    return a.getQuotaAssignmentAction().getRateLimitStrategy();
  }

  @Test
  void aMatchedBucketGetsATokenBucketShareOfItsRuleWithATtl() throws Exception {
    try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
      Map<String, String> bucket = Map.of("tenant", "first-" + UUID.randomUUID());
      s.report("svc", bucket, 0, 0);
      RateLimitQuotaResponse r = s.next();
      BucketAction a = only(r);
      assertEquals(bucket, a.getBucketId().getBucketMap());
      var q = a.getQuotaAssignmentAction();
      // TTL: 3 x the 1 s reporting interval.
      assertEquals(3, q.getAssignmentTimeToLive().getSeconds());
      var tb = q.getRateLimitStrategy().getTokenBucket();
      // A new quiet proxy: its demand is 0, so its want is the floor, 1 a minute.
      assertEquals(1, tb.getMaxTokens());
      assertEquals(120, tb.getFillInterval().getSeconds());
      // More demand, more share: 6 in a second is 360 a minute, more than the limit of 10.
      s.report(null, bucket, 2, 4);
      tb = strategy(s.next()).getTokenBucket();
      // Grant 9 (one unit of the 10 stays free for a newcomer): a bucket of 1, refill 8.
      assertEquals(1, tb.getMaxTokens());
      assertEquals(8, tb.getTokensPerFill().getValue());
      assertEquals(60, tb.getFillInterval().getSeconds());
    }
  }

  @Test
  void reportedUsageCountsInTheRuleCounterAndMetricsShouldRateLimitUses() throws Exception {
    String tenant = "count-" + UUID.randomUUID();
    String rule = "{rule=\"svc.tenant\"}";
    double within = limiter.metric("ratelimit_within_limit_total" + rule);
    double over = limiter.metric("ratelimit_over_limit_total" + rule);
    try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
      s.report("svc", Map.of("tenant", tenant), 7, 3);
      s.next();
    }
    io.tollgate.limiter.testing.Awaits.await("usage counted", java.time.Duration.ofSeconds(10),
        () -> limiter.metric("ratelimit_within_limit_total" + rule) == within + 7);
    assertEquals(over + 3, limiter.metric("ratelimit_over_limit_total" + rule));
    RateLimitResponse r = limiter.client.call(request("svc", descriptor("tenant", tenant)));
    assertEquals(RateLimitResponse.Code.OK, r.getOverallCode());
    // 10 a minute: 7 taken by the proxy's report, 1 by this call.
    assertEquals(2, r.getStatuses(0).getLimitRemaining());
  }

  @Test
  void unmatchedBucketsGetTheConfiguredDefault() throws Exception {
    try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
      s.report("svc", Map.of("nothing", "here"), 1, 0);
      assertEquals(BlanketRule.ALLOW_ALL, strategy(s.next()).getBlanketRule());
      s.report(null, Map.of("free", "x"), 1, 0);
      assertEquals(BlanketRule.ALLOW_ALL, strategy(s.next()).getBlanketRule());
    }
    try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
      s.report("ordered", Map.of("nothing", "here"), 1, 0);
      RateLimitStrategy st = strategy(s.next());
      assertTrue(st.hasBlanketRule());
      assertEquals(BlanketRule.DENY_ALL, st.getBlanketRule());
    }
    try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
      s.report("no-such-domain", Map.of("a", "b"), 1, 0);
      assertEquals(BlanketRule.ALLOW_ALL, strategy(s.next()).getBlanketRule());
    }
  }

  @Test
  void aDomainsKeyOrderMapsTheBucketToItsDescriptor() throws Exception {
    try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
      // Sorted by name this would be method, tenant, which matches nothing here.
      s.report("ordered", Map.of("method", "GET", "tenant", "a"), 0, 0);
      RateLimitStrategy st = strategy(s.next());
      assertTrue(st.hasTokenBucket(), st.toString());
      // min_share 3 of 50 a second: bucket 1, refill 2.
      assertEquals(1, st.getTokenBucket().getMaxTokens());
      assertEquals(2, st.getTokenBucket().getTokensPerFill().getValue());
    }
  }

  @Test
  void aBucketWhoseRuleIsRemovedOnReloadIsAbandoned() throws Exception {
    try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
      s.report("gone", Map.of("tenant", "t"), 1, 0);
      assertTrue(strategy(s.next()).hasTokenBucket());
      Files.writeString(dir.resolve("gone.yaml"), GONE.replace("key: tenant", "key: user"));
      try {
        RateLimitQuotaResponse r = s.next();
        BucketAction a = only(r);
        assertEquals(Map.of("tenant", "t"), a.getBucketId().getBucketMap());
        assertTrue(a.hasAbandonAction(), r.toString());
        // Reported again (Envoy starts over), it is an unmatched bucket: the default.
        s.report(null, Map.of("tenant", "t"), 1, 0);
        assertEquals(BlanketRule.ALLOW_ALL, strategy(s.next()).getBlanketRule());
      } finally {
        Files.writeString(dir.resolve("gone.yaml"), GONE);
      }
    }
  }

  @Test
  void badInputEndsOnlyThatStreamWithInvalidArgument() throws Exception {
    Map<String, String> ok = Map.of("tenant", "bad-input");
    var good = RlqsStream.usage(ok, 1, 0);
    Object[][] cases = {
        {RateLimitQuotaUsageReports.newBuilder().addBucketQuotaUsages(good).build(),
            "domain: must not be empty"},
        {RateLimitQuotaUsageReports.newBuilder().setDomain("svc").build(),
            "bucket_quota_usages: must not be empty"},
        {RateLimitQuotaUsageReports.newBuilder().setDomain("svc")
            .addBucketQuotaUsages(good.toBuilder().clearBucketId()).build(),
            "bucket_quota_usages[0].bucket_id: the bucket map must not be empty"},
        {RateLimitQuotaUsageReports.newBuilder().setDomain("svc")
            .addBucketQuotaUsages(good.toBuilder().clearTimeElapsed()).build(),
            "bucket_quota_usages[0].time_elapsed: missing"},
        {RateLimitQuotaUsageReports.newBuilder().setDomain("svc")
            .addBucketQuotaUsages(good.toBuilder().setTimeElapsed(
                com.google.protobuf.Duration.newBuilder().setSeconds(-1))).build(),
            "time_elapsed: must not be negative"},
        {RateLimitQuotaUsageReports.newBuilder().setDomain("svc")
            .addBucketQuotaUsages(good.toBuilder().setNumRequestsAllowed(-1)).build(),
            "num_requests_allowed: 18446744073709551615 is more than"},
        {RateLimitQuotaUsageReports.newBuilder().setDomain("svc")
            .addBucketQuotaUsages(good.toBuilder().setNumRequestsDenied(999_999_999_999L))
            .build(), "per second"},
        {RateLimitQuotaUsageReports.newBuilder().setDomain("svc")
            .addBucketQuotaUsages(good.toBuilder().setBucketId(
                good.getBucketId().toBuilder().putBucket("k", ""))).build(),
            "the value is empty"},
        {RateLimitQuotaUsageReports.newBuilder().setDomain("svc")
            .addBucketQuotaUsages(good).addBucketQuotaUsages(good).build(),
            "reported twice"},
    };
    try (RlqsStream bystander = new RlqsStream(limiter.grpcPort())) {
      bystander.report("svc", ok, 1, 0);
      bystander.next();
      for (Object[] c : cases) {
        try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
          s.send((RateLimitQuotaUsageReports) c[0]);
          Status status = s.awaitEnd();
          assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), c[1] + ": " + status);
          assertTrue(status.getDescription().contains((String) c[1]),
              c[1] + " not in: " + status.getDescription());
        }
        // The other stream is untouched.
        bystander.report(null, ok, 1, 0);
        assertTrue(strategy(bystander.next()).hasTokenBucket());
      }
      // A later report that changes the domain is refused too.
      try (RlqsStream s = new RlqsStream(limiter.grpcPort())) {
        s.report("svc", ok, 0, 0);
        s.next();
        s.report("ordered", ok, 0, 0);
        Status status = s.awaitEnd();
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
        assertTrue(status.getDescription().contains("differs from the stream's domain"),
            status.getDescription());
      }
      assertTrue(!bystander.end.isDone());
    }
  }
}
