package io.tollgate.limiter.rlqs;

import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.BucketId;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports.BucketQuotaUsage;
import org.junit.jupiter.api.Test;

/**
 * The reports a real Envoy sends. Envoy's GlobalRateLimitClientImpl sets
 * time_elapsed with whole seconds only (set_seconds(duration_cast<seconds>(now - last_report))),
 * and sends an immediate report when a bucket is created, with last_report = creation time: so
 * the first message of every stream, and the first periodic report of any bucket created less
 * than a second before the tick, carry time_elapsed {seconds: 0}. They must not end the stream.
 */
class RlqsEnvoyReportTest {

  private static RateLimitQuotaUsageReports report(String domain, long seconds) {
    return RateLimitQuotaUsageReports.newBuilder().setDomain(domain)
        .addBucketQuotaUsages(BucketQuotaUsage.newBuilder()
            .setBucketId(BucketId.newBuilder().putBucket("tenant", "acme")
                .putBucket("method", "GET"))
            .setTimeElapsed(Duration.newBuilder().setSeconds(seconds))
            .setNumRequestsDenied(1))
        .build();
  }

  @Test
  void envoysInitialBucketReportIsAccepted() {
    // What Envoy sends first on a stream: the new bucket's report, 0 s elapsed, 1 request counted.
    assertNull(ReportValidator.problem(report("edge-rlqs", 0), null));
  }

  @Test
  void aBucketCreatedMidIntervalIsAccepted() {
    assertNull(ReportValidator.problem(report("", 0), "edge-rlqs"));
  }
}
