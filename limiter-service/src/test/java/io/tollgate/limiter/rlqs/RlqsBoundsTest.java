package io.tollgate.limiter.rlqs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import io.grpc.Status;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.RlqsStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What one RLQS client can make a member remember is bounded: buckets per stream, streams per
 * remote address, no unmatched buckets, idle buckets forgotten. A real proxy's share is not
 * touched by any of it. Runs the default bounds (64 streams per peer, 1,000 buckets per stream,
 * 60 s idle) against one in-JVM limiter on a fake clock.
 */
class RlqsBoundsTest {

  private static final String RULES = """
      domain: bounds
      descriptors:
        - key: tenant
          rate_limit: {unit: minute, requests_per_unit: 600}
      """;
  private static final int PER_REPORT = 500;

  @TempDir
  Path dir;

  private final FakeClock clock = new FakeClock();
  private InJvmLimiter limiter;
  private final List<RlqsStream> streams = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (RlqsStream s : streams) {
      s.close();
    }
    if (limiter != null) {
      limiter.close();
    }
  }

  private InJvmLimiter start() throws Exception {
    Files.writeString(dir.resolve("bounds.yaml"), RULES);
    limiter = InJvmLimiter.start(dir, clock);
    return limiter;
  }

  private RlqsStream open() {
    RlqsStream s = new RlqsStream(limiter.grpcPort());
    streams.add(s);
    return s;
  }

  /** A report of {@code n} buckets {@code {key: prefix-i}}, each 1 request over 1 s. */
  private static RateLimitQuotaUsageReports fresh(String key, String prefix, int n) {
    RateLimitQuotaUsageReports.Builder r = RateLimitQuotaUsageReports.newBuilder()
        .setDomain("bounds");
    for (int i = 0; i < n; i++) {
      r.addBucketQuotaUsages(RlqsStream.usage(Map.of(key, prefix + "-" + i), 1, 0));
    }
    return r.build();
  }

  private TokenBucket realShare(RlqsStream real) throws InterruptedException {
    real.report(null, Map.of("tenant", "real"), 5, 0);
    RateLimitQuotaResponse r = real.next();
    assertEquals(1, r.getBucketActionCount(), r.toString());
    return r.getBucketAction(0).getQuotaAssignmentAction().getRateLimitStrategy()
        .getTokenBucket();
  }

  private double tracked() {
    return limiter.metric("ratelimit_rlqs_tracked_buckets");
  }

  @Test
  void freshBucketIdsEndTheStreamAtTheCapAndLeaveTheRealShareAlone() throws Exception {
    start();
    RlqsStream real = open();
    real.report("bounds", Map.of("tenant", "real"), 0, 0);
    real.next();
    TokenBucket before = realShare(real);

    RlqsStream flood = open();
    Status end = null;
    // At most 10 reports of 500 fresh ids; the third would track 1,500 > 1,000.
    for (int report = 0; report < 10 && end == null; report++) {
      flood.send(fresh("tenant", "flood-" + report, PER_REPORT));
      try {
        RateLimitQuotaResponse r = flood.next();
        assertEquals(PER_REPORT, r.getBucketActionCount());
        assertTrue(tracked() <= 1 + 1_000, "tracked: " + tracked());
      } catch (AssertionError noResponse) {
        end = flood.awaitEnd();
        assertEquals(2, report, "ended at the report that went over the cap");
      }
    }
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, end.getCode(), String.valueOf(end));
    assertTrue(end.getDescription().contains("bucket_quota_usages[0].bucket_id: this stream would"
        + " track more than 1000 buckets, the most one stream may (max_buckets_per_stream)"),
        end.getDescription());
    assertEquals(1, limiter.metric("ratelimit_rlqs_streams_over_bucket_cap_total"));
    Awaits.await("the ended stream's buckets to be dropped", Duration.ofSeconds(10),
        () -> tracked() == 1);

    assertEquals(before, realShare(real), "the real proxy's share is the same");
  }

  @Test
  void unmatchedBucketsAreAnsweredButNotTracked() throws Exception {
    start();
    RlqsStream real = open();
    real.report("bounds", Map.of("tenant", "real"), 0, 0);
    real.next();
    RlqsStream unmatched = open();
    for (int report = 0; report < 5; report++) {
      unmatched.send(fresh("nobody", "u-" + report, 1_000));
      assertEquals(1_000, unmatched.next().getBucketActionCount());
    }
    assertEquals(1, tracked(), "only the real proxy's bucket is tracked");
  }

  @Test
  void aPeerCannotOpenMoreThan64Streams() throws Exception {
    start();
    List<RlqsStream> mine = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      RlqsStream s = open();
      s.report("bounds", Map.of("nobody", "x"), 0, 0);
      s.next();
      mine.add(s);
    }
    RlqsStream extra = open();
    Status end = extra.awaitEnd();
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, end.getCode(), String.valueOf(end));
    assertTrue(end.getDescription().contains("127.0.0.1 has 64 RLQS streams open on this member,"
        + " the most one remote address may (max_streams_per_peer)"), end.getDescription());
    assertEquals(1, limiter.metric("ratelimit_rlqs_streams_refused_total"));

    mine.get(0).close();
    Awaits.await("a stream to open once another closed", Duration.ofSeconds(20), () -> {
      RlqsStream again = open();
      again.report("bounds", Map.of("tenant", "again"), 0, 0);
      try {
        return again.next().getBucketActionCount() == 1;
      } catch (AssertionError | InterruptedException refused) {
        return false;
      }
    });
  }

  @Test
  void bucketsNotReportedForAMinuteAreForgotten() throws Exception {
    start();
    RlqsStream proxy = open();
    proxy.report("bounds", Map.of("tenant", "gone"), 0, 0);
    proxy.next();
    proxy.report(null, Map.of("tenant", "stays"), 0, 0);
    proxy.next();
    assertEquals(2, tracked());

    clock.advance(59, TimeUnit.SECONDS);
    proxy.report(null, Map.of("tenant", "stays"), 1, 0);
    proxy.next();
    assertEquals(2, tracked(), "59 s idle: still tracked");
    assertEquals(0, limiter.metric("ratelimit_rlqs_buckets_expired_total"));

    clock.advance(2, TimeUnit.SECONDS);
    proxy.report(null, Map.of("tenant", "stays"), 1, 0);
    proxy.next();
    assertEquals(1, tracked(), "61 s idle: forgotten");
    assertEquals(1, limiter.metric("ratelimit_rlqs_buckets_expired_total"));
  }
}
