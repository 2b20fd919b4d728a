package io.tollgate.limiter.api;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static io.tollgate.limiter.testing.Requests.withHits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.UInt64Value;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.tollgate.limiter.testing.LimiterExtension;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every malformed request gets INVALID_ARGUMENT with a message naming the problem, changes no
 * counter, and leaves the service serving.
 */
class BadInputTest {

  private static final RateLimitDescriptor VALID = descriptor("five", "bad-input");
  @RegisterExtension
  static final LimiterExtension LIMITER = new LimiterExtension("/service/rules.yaml");

  static Stream<Arguments> badRequests() {
    String kib = "k".repeat(1025);
    String multiByte = "é".repeat(513); // 1026 bytes in UTF-8, 513 chars
    RateLimitRequest.Builder tooMany = RateLimitRequest.newBuilder().setDomain("test");
    for (int i = 0; i < 65; i++) {
      tooMany.addDescriptors(VALID);
    }
    RateLimitDescriptor.Builder wide = RateLimitDescriptor.newBuilder();
    for (int i = 0; i < 33; i++) {
      wide.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey("k" + i).setValue("v"));
    }
    return Stream.of(
        Arguments.of("empty domain", request("", VALID), "domain must not be empty"),
        Arguments.of("no descriptors", request("test"), "descriptors must not be empty"),
        Arguments.of("descriptor without entries", request("test", VALID,
            RateLimitDescriptor.getDefaultInstance()), "descriptors[1].entries must not be empty"),
        Arguments.of("empty key", request("test", VALID, descriptor("", "v")),
            "descriptors[1].entries[0].key must not be empty"),
        Arguments.of("65 descriptors", tooMany.build(),
            "descriptors has 65 descriptors; at most 64 are allowed"),
        Arguments.of("33 entries", request("test", VALID, wide.build()),
            "descriptors[1].entries has 33 entries; at most 32 are allowed"),
        Arguments.of("long key", request("test", VALID, descriptor(kib, "v")),
            "descriptors[1].entries[0].key is longer than 1024 bytes"),
        Arguments.of("long value", request("test", VALID, descriptor("k", kib)),
            "descriptors[1].entries[0].value is longer than 1024 bytes"),
        Arguments.of("long multi-byte value", request("test", VALID, descriptor("k", multiByte)),
            "descriptors[1].entries[0].value is longer than 1024 bytes"),
        Arguments.of("long domain", request(kib, VALID), "domain is longer than 1024 bytes"),
        Arguments.of("absurd hits_addend", request("test", VALID, withHits(VALID, 1L << 40)),
            "descriptors[1].hits_addend 1099511627776 is above the maximum of 4294967295"),
        Arguments.of("negative hits_addend", request("test", VALID,
            VALID.toBuilder().setHitsAddend(UInt64Value.of(-1)).build()),
            "descriptors[1].hits_addend 18446744073709551615 is above the maximum of 4294967295"),
        Arguments.of("override without unit", request("test", VALID, VALID.toBuilder()
            .setLimit(RateLimitDescriptor.RateLimitOverride.newBuilder().setRequestsPerUnit(1))
            .build()),
            "descriptors[1].limit.unit must be one of SECOND, MINUTE, HOUR, DAY, MONTH, YEAR"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  void rejectedWithTheReason(String name, RateLimitRequest request, String message) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> LIMITER.limiter().client.call(request));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertEquals(message, e.getStatus().getDescription());
  }

  @AfterEach
  void nothingCountedAndStillServing() {
    var status = LIMITER.limiter().client.call(request("test", withHits(VALID, 0))).getStatuses(0);
    assertEquals(Code.OK, status.getCode());
    assertEquals(5, status.getLimitRemaining(), "a rejected request changed a counter");
    assertEquals(ServingStatus.SERVING, LIMITER.limiter().client.health());
  }
}
