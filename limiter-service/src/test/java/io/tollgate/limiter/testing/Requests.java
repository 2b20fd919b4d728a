package io.tollgate.limiter.testing;

import com.google.protobuf.UInt64Value;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;

/** Builders for rate-limit requests in tests. */
public final class Requests {

  private Requests() {}

  /** A descriptor from alternating keys and values. */
  public static RateLimitDescriptor descriptor(String... keyValues) {
    RateLimitDescriptor.Builder b = RateLimitDescriptor.newBuilder();
    for (int i = 0; i < keyValues.length; i += 2) {
      b.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(keyValues[i])
          .setValue(keyValues[i + 1]));
    }
    return b.build();
  }

  /** The same descriptor with its own hits_addend. */
  public static RateLimitDescriptor withHits(RateLimitDescriptor d, long hits) {
    return d.toBuilder().setHitsAddend(UInt64Value.of(hits)).build();
  }

  /** A request for one domain. */
  public static RateLimitRequest request(String domain, RateLimitDescriptor... descriptors) {
    RateLimitRequest.Builder b = RateLimitRequest.newBuilder().setDomain(domain);
    for (RateLimitDescriptor d : descriptors) {
      b.addDescriptors(d);
    }
    return b.build();
  }
}
