package io.tollgate.limiter.protocol;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.type.v3.RateLimitUnit;
import io.tollgate.limiter.service.InvalidRequestException;
import java.nio.charset.StandardCharsets;

/**
 * The bounds a request must keep. Checked before any counter is touched, so a rejected request
 * changes nothing.
 */
public final class RequestValidator {

  /** Most descriptors in one request. */
  public static final int MAX_DESCRIPTORS = 64;
  /** Most entries in one descriptor. */
  public static final int MAX_ENTRIES = 32;
  /** Longest domain, key or value, in UTF-8 bytes. */
  public static final int MAX_STRING_BYTES = 1024;
  /** Largest hits_addend: no limit can be larger, so a larger addend could never pass. */
  public static final long MAX_HITS_ADDEND = 0xFFFF_FFFFL;

  private RequestValidator() {}

  /**
   * Checks a request.
   *
   * @throws InvalidRequestException naming the first field out of bounds
   */
  public static void validate(RateLimitRequest request) {
    String domain = request.getDomain();
    if (domain.isEmpty()) {
      throw new InvalidRequestException("domain must not be empty");
    }
    checkLength(domain, "domain");
    int n = request.getDescriptorsCount();
    if (n == 0) {
      throw new InvalidRequestException("descriptors must not be empty");
    }
    if (n > MAX_DESCRIPTORS) {
      throw new InvalidRequestException("descriptors has " + n + " descriptors; at most "
          + MAX_DESCRIPTORS + " are allowed");
    }
    for (int i = 0; i < n; i++) {
      RateLimitDescriptor d = request.getDescriptors(i);
      int m = d.getEntriesCount();
      if (m == 0) {
        throw new InvalidRequestException("descriptors[" + i + "].entries must not be empty");
      }
      if (m > MAX_ENTRIES) {
        throw new InvalidRequestException("descriptors[" + i + "].entries has " + m
            + " entries; at most " + MAX_ENTRIES + " are allowed");
      }
      for (int j = 0; j < m; j++) {
        RateLimitDescriptor.Entry e = d.getEntries(j);
        if (e.getKey().isEmpty()) {
          throw new InvalidRequestException(
              "descriptors[" + i + "].entries[" + j + "].key must not be empty");
        }
        checkLength(e.getKey(), "descriptors[" + i + "].entries[" + j + "].key");
        checkLength(e.getValue(), "descriptors[" + i + "].entries[" + j + "].value");
      }
      if (d.hasHitsAddend()) {
        long addend = d.getHitsAddend().getValue();
        if (addend < 0 || addend > MAX_HITS_ADDEND) {
          throw new InvalidRequestException("descriptors[" + i + "].hits_addend "
              + Long.toUnsignedString(addend) + " is above the maximum of " + MAX_HITS_ADDEND);
        }
      }
      if (d.hasLimit()) {
        RateLimitUnit unit = d.getLimit().getUnit();
        if (unit == RateLimitUnit.UNKNOWN || unit == RateLimitUnit.UNRECOGNIZED) {
          throw new InvalidRequestException("descriptors[" + i
              + "].limit.unit must be one of SECOND, MINUTE, HOUR, DAY, MONTH, YEAR");
        }
      }
    }
  }

  private static void checkLength(String s, String field) {
    if (tooLong(s)) {
      throw new InvalidRequestException(field + " is longer than " + MAX_STRING_BYTES
          + " bytes");
    }
    if (!wellFormed(s)) {
      throw new InvalidRequestException(field + " is not valid UTF-8 (it holds half of a "
          + "surrogate pair)");
    }
  }

  /**
   * Whether {@code s} has a UTF-8 form: no unpaired surrogate. Binary protobuf cannot carry one
   * (proto3 refuses invalid UTF-8 while parsing), but a JSON escape of a lone surrogate can,
   * and encoding it would replace it with {@code ?}, folding distinct values into one counter.
   */
  public static boolean wellFormed(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return false;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code s} is longer than {@link #MAX_STRING_BYTES} in UTF-8. */
  public static boolean tooLong(String s) {
    // A char is at most 3 UTF-8 bytes, so short strings need no encoding to check.
    if (s.length() * 3 <= MAX_STRING_BYTES) {
      return false;
    }
    return s.length() > MAX_STRING_BYTES
        || s.getBytes(StandardCharsets.UTF_8).length > MAX_STRING_BYTES;
  }
}
