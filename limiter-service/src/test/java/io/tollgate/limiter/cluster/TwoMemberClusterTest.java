package io.tollgate.limiter.cluster;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static io.tollgate.limiter.testing.Requests.withHits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import io.tollgate.limiter.testing.RlsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two limiter processes, each its own JVM and grid member, joined over 127.0.0.1. Limits here
 * use algorithms with no window edge (a token bucket refilling one token a day, a sliding
 * window), so the counts checked cannot reset while the test runs.
 */
class TwoMemberClusterTest {

  private static final String RULES = """
      domain: cluster
      descriptors:
        - key: bucket
          rate_limit: {algorithm: token_bucket, requests_per_unit: 1, unit: day, burst: 100}
        - key: sliding
          rate_limit: {algorithm: sliding_window, requests_per_unit: 300, unit: day}
      """;

  @TempDir
  Path dir;

  private LimiterProcess a;
  private LimiterProcess b;
  private RlsClient clientA;
  private RlsClient clientB;

  @BeforeEach
  void startTwoMembers() throws Exception {
    Path config = dir.resolve("rules.yaml");
    Files.writeString(config, RULES);
    int portA = FreePorts.next();
    int portB = FreePorts.next();
    String members = "127.0.0.1:" + portA + ",127.0.0.1:" + portB;
    String name = "two-" + UUID.randomUUID();
    a = LimiterProcess.start("member-a", config, portA, "--members", members, "--cluster-name",
        name);
    b = LimiterProcess.start("member-b", config, portB, "--members", members, "--cluster-name",
        name);
    a.awaitReady(Duration.ofSeconds(90));
    b.awaitReady(Duration.ofSeconds(90));
    Awaits.await("both members in one cluster", Duration.ofSeconds(60),
        () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 2.0")
            && b.httpGet("/metrics").body().contains("ratelimit_cluster_members 2.0")
            && a.httpGet("/metrics").body().contains(
                "ratelimit_cluster_partitions_without_owner 0.0"));
    clientA = new RlsClient(a.grpcPort);
    clientB = new RlsClient(b.grpcPort);
  }

  @AfterEach
  void stop() throws Exception {
    clientA.close();
    clientB.close();
    a.close();
    b.close();
  }

  private static long remaining(RlsClient client, RateLimitDescriptor d) {
    return client.call(request("cluster", withHits(d, 0))).getStatuses(0).getLimitRemaining();
  }

  @Test
  void membersShareCounts() {
    RateLimitDescriptor d = descriptor("bucket", "shared");
    for (int i = 0; i < 10; i++) {
      assertEquals(Code.OK, clientA.call(request("cluster", d)).getOverallCode());
      assertEquals(Code.OK, clientB.call(request("cluster", d)).getOverallCode());
    }
    assertEquals(80, remaining(clientA, d));
    assertEquals(80, remaining(clientB, d));
  }

  @Test
  void concurrentCallersOnBothMembersAdmitExactlyTheLimit() throws Exception {
    for (String key : new String[] {"bucket", "sliding"}) {
      long limit = key.equals("bucket") ? 100 : 300;
      RateLimitDescriptor d = descriptor(key, "race");
      List<ListenableFuture<RateLimitResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        RlsClient c = i % 2 == 0 ? clientA : clientB;
        calls.add(c.futureStub().withDeadlineAfter(30, TimeUnit.SECONDS)
            .shouldRateLimit(request("cluster", d)));
      }
      long allowed = 0;
      for (ListenableFuture<RateLimitResponse> call : calls) {
        if (call.get().getOverallCode() == Code.OK) {
          allowed++;
        }
      }
      assertEquals(limit, allowed, key + ": 500 concurrent calls over two members");
    }
  }

  @Test
  void countsSurviveKillingAMember() throws Exception {
    List<RateLimitDescriptor> keys = new ArrayList<>();
    for (int k = 0; k < 20; k++) {
      keys.add(descriptor("bucket", "survivor-" + k));
    }
    for (RateLimitDescriptor d : keys) {
      RateLimitResponse r = clientA.call(request("cluster", d).toBuilder().setHitsAddend(30)
          .build());
      assertEquals(70, r.getStatuses(0).getLimitRemaining());
    }
    b.kill();
    Awaits.await("member b gone", Duration.ofSeconds(60),
        () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 1.0"));
    for (RateLimitDescriptor d : keys) {
      assertEquals(70, remaining(clientA, d), "count lost for " + d);
    }
  }

  @Test
  void gracefulLeaveKeepsCountsAndExitsZero() throws Exception {
    RateLimitDescriptor d = descriptor("sliding", "leave");
    clientB.call(request("cluster", d).toBuilder().setHitsAddend(120).build());
    assertEquals(0, b.terminate(Duration.ofSeconds(60)), b.log());
    assertTrue(b.log().contains("stopped"), b.log());
    assertEquals(180, remaining(clientA, d));
  }
}
