package io.tollgate.loadtest.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.config.ConfigException;
import io.tollgate.limiter.config.ConfigLoader;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.protocol.RateLimitService;
import io.tollgate.limiter.protocol.RequestValidator;
import io.tollgate.limiter.service.ServiceOptions;
import io.tollgate.limiter.store.InMemoryLimitStore;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The request path around the grid: parsing a {@code RateLimitRequest} from its wire bytes and
 * validating it, building and serializing a response, and the whole decision (match, keys,
 * decide, combine, respond) over the in-memory store, for 1 and 4 descriptors.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RequestPathBenchmark {

  static final String RULES = """
      domain: loadtest
      descriptors:
        - key: k
          rate_limit: {requests_per_unit: 1000000, unit: second}
      """;

  @Param({"1", "4"})
  public int descriptors;

  private byte[] requestBytes;
  private RateLimitRequest request;
  private RateLimitResponse response;
  private RateLimitService service;
  private int n;

  @Setup
  public void setUp() throws ConfigException {
    RateLimitRequest.Builder b = RateLimitRequest.newBuilder().setDomain("loadtest");
    for (int i = 0; i < descriptors; i++) {
      b.addDescriptors(RateLimitDescriptor.newBuilder().addEntries(
          RateLimitDescriptor.Entry.newBuilder().setKey("k").setValue("user-" + (1000 + i))));
    }
    request = b.build();
    requestBytes = request.toByteArray();
    RuleSet rules = ConfigLoader.parse(Map.of("rules.yaml", RULES));
    service = new RateLimitService(() -> rules, new InMemoryLimitStore(WallClock.SYSTEM),
        new LimiterMetrics(), new ServiceOptions(0.8, false, false));
    response = service.shouldRateLimit(request).join();
  }

  @Benchmark
  public RateLimitRequest parseAndValidate() throws InvalidProtocolBufferException {
    RateLimitRequest r = RateLimitRequest.parseFrom(requestBytes);
    RequestValidator.validate(r);
    return r;
  }

  @Benchmark
  public byte[] buildResponse() {
    RateLimitResponse.Builder b = RateLimitResponse.newBuilder()
        .setOverallCode(RateLimitResponse.Code.OK);
    for (int i = 0; i < descriptors; i++) {
      b.addStatuses(RateLimitResponse.DescriptorStatus.newBuilder()
          .setCode(RateLimitResponse.Code.OK)
          .setCurrentLimit(RateLimitResponse.RateLimit.newBuilder().setRequestsPerUnit(1_000_000)
              .setUnit(RateLimitResponse.RateLimit.Unit.SECOND))
          .setLimitRemaining(999_999 - (n++ & 1023)));
    }
    return b.build().toByteArray();
  }

  @Benchmark
  public byte[] decideInMemory() throws InvalidProtocolBufferException {
    RateLimitRequest r = RateLimitRequest.parseFrom(requestBytes);
    return service.shouldRateLimit(r).join().toByteArray();
  }

  /** For the smoke check: the response the in-memory decision gives. */
  RateLimitResponse response() {
    return response;
  }
}
