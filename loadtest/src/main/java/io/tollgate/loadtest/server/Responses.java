package io.tollgate.loadtest.server;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.RateLimit;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;

/** Request keys and responses shared by the deciding baselines. */
final class Responses {

  private Responses() {}

  /** The counter key of a descriptor: domain and entries, as envoyproxy/ratelimit joins them. */
  static String key(String domain, RateLimitDescriptor descriptor) {
    StringBuilder key = new StringBuilder(domain);
    for (RateLimitDescriptor.Entry e : descriptor.getEntriesList()) {
      key.append('_').append(e.getKey()).append('_').append(e.getValue());
    }
    return key.toString();
  }

  /** The cost of descriptor {@code i}: its own hits_addend if set, else the request's, else 1. */
  static long hits(RateLimitRequest request, int i) {
    RateLimitDescriptor d = request.getDescriptors(i);
    if (d.hasHitsAddend()) {
      return d.getHitsAddend().getValue();
    }
    return request.getHitsAddend() == 0 ? 1 : request.getHitsAddend();
  }

  /** A response from per-descriptor verdicts and remaining counts. */
  static RateLimitResponse response(boolean[] allowed, long[] remaining, long limit) {
    RateLimitResponse.Builder response = RateLimitResponse.newBuilder();
    boolean all = true;
    RateLimit current = RateLimit.newBuilder().setRequestsPerUnit((int) Math.min(limit,
        Integer.MAX_VALUE)).setUnit(RateLimit.Unit.SECOND).build();
    for (int i = 0; i < allowed.length; i++) {
      all &= allowed[i];
      response.addStatuses(RateLimitResponse.DescriptorStatus.newBuilder()
          .setCode(allowed[i] ? Code.OK : Code.OVER_LIMIT)
          .setCurrentLimit(current)
          .setLimitRemaining((int) Math.max(0, Math.min(remaining[i], Integer.MAX_VALUE))));
    }
    return response.setOverallCode(all ? Code.OK : Code.OVER_LIMIT).build();
  }
}
