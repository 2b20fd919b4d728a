package io.tollgate.limiter.rlqs;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a reported bucket (Envoy's {@code BucketId}, an unordered key/value map) into the one
 * descriptor it is matched as: the keys named in the domain's {@code rlqs.bucket_key_order} first,
 * in that order, then every other key sorted by name (Java's {@code String} order, i.e. by UTF-16
 * code unit). With no order configured every key is sorted by name.
 */
public final class BucketMapping {

  private BucketMapping() {}

  /** The descriptor for {@code bucket} under {@code keyOrder}. */
  public static RateLimitDescriptor descriptor(Map<String, String> bucket, List<String> keyOrder) {
    TreeMap<String, String> rest = new TreeMap<>(bucket);
    List<String[]> entries = new ArrayList<>(bucket.size());
    for (String key : keyOrder) {
      String value = rest.remove(key);
      if (value != null) {
        entries.add(new String[] {key, value});
      }
    }
    for (Map.Entry<String, String> e : rest.entrySet()) {
      entries.add(new String[] {e.getKey(), e.getValue()});
    }
    RateLimitDescriptor.Builder d = RateLimitDescriptor.newBuilder();
    for (String[] e : entries) {
      d.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(e[0]).setValue(e[1]));
    }
    return d.build();
  }

  /** A stable text form of a bucket, keys sorted, each part length-prefixed. */
  public static String canonical(Map<String, String> bucket) {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, String> e : new TreeMap<>(bucket).entrySet()) {
      sb.append(e.getKey().length()).append(':').append(e.getKey())
          .append(e.getValue().length()).append(':').append(e.getValue());
    }
    return sb.toString();
  }
}
