package io.tollgate.limiter.rlqs;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.BucketId;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaServiceGrpc;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports;
import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports.BucketQuotaUsage;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.tollgate.limiter.fuzzing.Fuzz;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes RLQS usage reports: generated reports (empty, absent and unknown domains; bucket maps
 * with odd, empty, long or many keys; negative, zero, huge and missing elapsed times; counts up to
 * 2^64 - 1; several usages of one bucket in one report) sent over real streams.
 *
 * <p>Each report must be answered or end its stream with INVALID_ARGUMENT, never another status
 * and never silence; a refused report must count nothing, not even the valid usages beside the
 * bad one; and the limiter keeps answering.
 */
class RlqsReportFuzzTest {

  private static final long LIMIT = 1_000_000;
  private static final List<String> KEYS = List.of("tenant", "tenant", "tenant", "method", "path",
      "", "x".repeat(300), "tenant ", "TENANT", "\u00e9");

  @TempDir
  static Path dir;
  private static InJvmLimiter limiter;
  private static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(dir.resolve("fuzz.yaml"), """
        domain: fuzz
        descriptors:
          - key: tenant
            rate_limit: {unit: day, requests_per_unit: 1000000}
          - key: method
            descriptors:
              - key: path
                rate_limit: {unit: second, requests_per_unit: 50}
        """);
    limiter = InJvmLimiter.start(dir, new FakeClock());
    channel = NettyChannelBuilder.forAddress("127.0.0.1", limiter.grpcPort()).usePlaintext()
        .build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (limiter != null) {
      limiter.close();
    }
  }

  @Test
  void everyReportIsAnsweredOrRefusedAndARefusedOneCountsNothing() throws Throwable {
    List<String> refusedTenants = new ArrayList<>();
    Stream[] stream = {null};
    int[] onStream = {0};
    Fuzz.check(Fuzz.cases(2000), fuzz -> {
      // A fresh stream after a refusal, and every 40 reports, so no stream grows without end.
      if (stream[0] == null || onStream[0]++ >= 40) {
        if (stream[0] != null) {
          stream[0].close();
        }
        stream[0] = new Stream();
        onStream[0] = 0;
      }
      String tenant = "t" + fuzz.toString().replace(' ', '-');
      RateLimitQuotaUsageReports report = report(fuzz, tenant);
      Object outcome = stream[0].sendAndAwait(report);
      if (outcome instanceof Status status) {
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(),
            "a report ended its stream with " + status + ": " + report);
        assertTrue(status.getDescription() != null && !status.getDescription().isBlank(),
            "a refusal without a reason: " + report);
        refusedTenants.add(tenant);
        stream[0] = null;
      }
    });
    if (stream[0] != null) {
      stream[0].close();
    }
    // Usage is counted after the answer; once a sentinel report is counted, every report before
    // it has been too, so a refused report's counter can be read.
    String sentinel = "sentinel";
    Stream s = new Stream();
    s.sendAndAwait(RateLimitQuotaUsageReports.newBuilder().setDomain("fuzz")
        .addBucketQuotaUsages(usage(Map.of("tenant", sentinel), 5, 0)).build());
    s.close();
    Awaits.await("the sentinel's usage counted", java.time.Duration.ofSeconds(20),
        () -> remaining(sentinel) <= LIMIT - 6);
    assertTrue(refusedTenants.size() > 100, "too few refused reports to show anything: "
        + refusedTenants.size());
    for (String tenant : refusedTenants) {
      assertEquals(LIMIT - 1, remaining(tenant), "a refused report counted for " + tenant);
    }
    assertEquals(200, limiter.get("/healthz").statusCode());
  }

  /** What is left for {@code tenant} after taking one more. */
  private static long remaining(String tenant) {
    RateLimitResponse r = limiter.client.call(request("fuzz", descriptor("tenant", tenant)));
    return r.getStatuses(0).getLimitRemaining();
  }

  private static RateLimitQuotaUsageReports report(Fuzz fuzz, String tenant) {
    RateLimitQuotaUsageReports.Builder report = RateLimitQuotaUsageReports.newBuilder();
    switch (fuzz.nextInt(6)) {
      case 0 -> report.setDomain("");
      case 1 -> report.setDomain(fuzz.anyText(20).replace('\ud800', '?'));
      default -> report.setDomain("fuzz");
    }
    int usages = fuzz.nextInt(5);
    for (int i = 0; i < usages; i++) {
      BucketQuotaUsage.Builder usage = BucketQuotaUsage.newBuilder();
      if (!fuzz.chance(0.05)) {
        BucketId.Builder bucket = BucketId.newBuilder();
        int entries = fuzz.chance(0.1) ? fuzz.nextInt(200) : fuzz.nextInt(4);
        bucket.putBucket("tenant", fuzz.chance(0.9) ? tenant : fuzz.pick(List.of("", tenant
            + "x".repeat(600))));
        for (int e = 0; e < entries; e++) {
          bucket.putBucket(fuzz.pick(KEYS) + (e > 3 ? e : ""), fuzz.chance(0.1) ? ""
              : fuzz.anyAscii(12));
        }
        usage.setBucketId(bucket);
      }
      if (!fuzz.chance(0.05)) {
        long seconds = switch (fuzz.nextInt(5)) {
          case 0 -> -1 - fuzz.nextInt(10);
          case 1 -> 0;
          case 2 -> fuzz.random().nextLong();
          default -> 1 + fuzz.nextInt(10);
        };
        int nanos = fuzz.chance(0.1) ? fuzz.random().nextInt() : fuzz.nextInt(1_000_000_000);
        usage.setTimeElapsed(Duration.newBuilder().setSeconds(seconds).setNanos(nanos));
      }
      usage.setNumRequestsAllowed(count(fuzz));
      usage.setNumRequestsDenied(count(fuzz));
      report.addBucketQuotaUsages(usage);
    }
    return report.build();
  }

  private static long count(Fuzz fuzz) {
    return switch (fuzz.nextInt(5)) {
      case 0 -> 0;
      case 1 -> fuzz.random().nextLong();
      case 2 -> -1;
      default -> fuzz.nextInt(20);
    };
  }

  private static BucketQuotaUsage usage(Map<String, String> bucket, long allowed, long denied) {
    return BucketQuotaUsage.newBuilder()
        .setBucketId(BucketId.newBuilder().putAllBucket(bucket))
        .setTimeElapsed(Duration.newBuilder().setSeconds(1))
        .setNumRequestsAllowed(allowed).setNumRequestsDenied(denied).build();
  }

  /** One stream on the shared channel. */
  private static final class Stream {
    private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final StreamObserver<RateLimitQuotaUsageReports> requests;

    Stream() {
      requests = RateLimitQuotaServiceGrpc.newStub(channel).streamRateLimitQuotas(
          new StreamObserver<>() {
            @Override
            public void onNext(RateLimitQuotaResponse r) {
              events.add(r);
            }

            @Override
            public void onError(Throwable t) {
              events.add(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
              events.add(Status.OK);
            }
          });
    }

    /** The response to {@code report}, or the status the stream ended with. */
    Object sendAndAwait(RateLimitQuotaUsageReports report) throws InterruptedException {
      requests.onNext(report);
      Object event = events.poll(20, TimeUnit.SECONDS);
      if (event == null) {
        throw new AssertionError("neither an answer nor an end within 20 s for " + report);
      }
      return event;
    }

    void close() {
      try {
        requests.onCompleted();
      } catch (IllegalStateException ended) {
        // Already ended by the server.
      }
    }
  }
}
