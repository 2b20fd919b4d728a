package io.tollgate.limiter.rlqs;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports.BucketQuotaUsage;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Checks one {@code RateLimitQuotaUsageReports} message before anything is counted. A bad message
 * ends its stream with {@code INVALID_ARGUMENT} and the reason; other streams are untouched.
 */
final class ReportValidator {

  static final int MAX_USAGES = 1_000;
  static final int MAX_ENTRIES = 32;
  static final int MAX_BYTES = 1_024;
  /** The most requests one report may claim, allowed or denied. */
  static final long MAX_COUNT = 1_000_000_000_000L;
  /** The most requests per second of elapsed time a report may claim. */
  static final long MAX_RATE_PER_SECOND = 1_000_000_000L;
  static final long MAX_ELAPSED_SECONDS = 86_400;

  private ReportValidator() {}

  /**
   * @param streamDomain the stream's domain, or {@code null} before its first report
   * @return the problem, or {@code null}
   */
  static String problem(RateLimitQuotaUsageReports reports, String streamDomain) {
    String domain = reports.getDomain();
    if (streamDomain == null) {
      if (domain.isEmpty()) {
        return "domain: must not be empty in the first report of a stream";
      }
      if (bytes(domain) > MAX_BYTES) {
        return "domain: longer than " + MAX_BYTES + " bytes";
      }
    } else if (!domain.isEmpty() && !domain.equals(streamDomain)) {
      return "domain: '" + domain + "' differs from the stream's domain '" + streamDomain
          + "' (open a new stream for another domain)";
    }
    int n = reports.getBucketQuotaUsagesCount();
    if (n == 0) {
      return "bucket_quota_usages: must not be empty";
    }
    if (n > MAX_USAGES) {
      return "bucket_quota_usages: " + n + " usages, more than " + MAX_USAGES;
    }
    Set<Map<String, String>> seen = new HashSet<>();
    for (int i = 0; i < n; i++) {
      BucketQuotaUsage u = reports.getBucketQuotaUsages(i);
      String at = "bucket_quota_usages[" + i + "]";
      if (!u.hasBucketId() || u.getBucketId().getBucketCount() == 0) {
        return at + ".bucket_id: the bucket map must not be empty";
      }
      Map<String, String> bucket = u.getBucketId().getBucketMap();
      if (bucket.size() > MAX_ENTRIES) {
        return at + ".bucket_id: " + bucket.size() + " entries, more than " + MAX_ENTRIES;
      }
      for (Map.Entry<String, String> e : bucket.entrySet()) {
        if (e.getKey().isEmpty()) {
          return at + ".bucket_id: a key is empty";
        }
        if (e.getValue().isEmpty()) {
          return at + ".bucket_id['" + e.getKey() + "']: the value is empty";
        }
        if (bytes(e.getKey()) > MAX_BYTES || bytes(e.getValue()) > MAX_BYTES) {
          return at + ".bucket_id: a key or value is longer than " + MAX_BYTES + " bytes";
        }
      }
      if (!seen.add(bucket)) {
        return at + ".bucket_id: the same bucket is reported twice in one message";
      }
      if (!u.hasTimeElapsed()) {
        return at + ".time_elapsed: missing";
      }
      Duration t = u.getTimeElapsed();
      // Zero is valid: Envoy sends whole seconds, and a bucket's first report (sent when the
      // bucket is created) or one created less than a second before the tick says 0 s.
      if (t.getSeconds() < 0 || t.getNanos() < 0 || t.getNanos() > 999_999_999) {
        return at + ".time_elapsed: must not be negative";
      }
      if (t.getSeconds() > MAX_ELAPSED_SECONDS) {
        return at + ".time_elapsed: more than " + MAX_ELAPSED_SECONDS + " s";
      }
      long allowed = u.getNumRequestsAllowed();
      long denied = u.getNumRequestsDenied();
      // uint64 on the wire: Java sees values from 2^63 as negative.
      if (allowed < 0 || allowed > MAX_COUNT) {
        return at + ".num_requests_allowed: " + Long.toUnsignedString(allowed)
            + " is more than " + MAX_COUNT;
      }
      if (denied < 0 || denied > MAX_COUNT) {
        return at + ".num_requests_denied: " + Long.toUnsignedString(denied)
            + " is more than " + MAX_COUNT;
      }
      // A report of under a second is checked as one over a second (no division by zero).
      double seconds = Math.max(1.0, t.getSeconds() + t.getNanos() / 1e9);
      if ((allowed + denied) / seconds > MAX_RATE_PER_SECOND) {
        return at + ": " + (allowed + denied) + " requests in " + seconds
            + " s is more than " + MAX_RATE_PER_SECOND + " per second";
      }
    }
    return null;
  }

  private static int bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }
}
