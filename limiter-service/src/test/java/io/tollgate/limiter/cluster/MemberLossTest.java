package io.tollgate.limiter.cluster;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three limiter processes under load from this test over Envoy's rate-limit API, sent only to
 * the members that stay. First one member is killed with SIGKILL: at most 0.1% of calls may fail,
 * no failure may come later than the failure-detection time after the first, and no key may
 * admit more than its limit. Then, on the two that remain, one leaves with SIGTERM: no call may
 * fail.
 *
 * <p>Limits are token buckets refilling one token a day, so the allowance cannot grow while the
 * test runs: every key admits at most its burst over the whole test.
 */
class MemberLossTest {

  private static final int KEYS = 40;
  private static final long BURST = 120;
  /** The members' {@code hazelcast.max.no.heartbeat.seconds}: see GridMember. */
  private static final long FAILURE_DETECTION_MILLIS = 10_000;
  /** Longer than the failure detection: a call may wait for its partition's new owner. */
  private static final long DEADLINE_SECONDS = 30;
  private static final String RULES = """
      domain: loss
      descriptors:
        - key: user
          rate_limit: {algorithm: token_bucket, requests_per_unit: 1, unit: day, burst: %d}
      """.formatted(BURST);

  @TempDir
  Path dir;

  @Test
  void losingAMemberCostsAlmostNoDecisionAndLeavingCostsNone() throws Exception {
    Path config = dir.resolve("rules.yaml");
    Files.writeString(config, RULES);
    int[] ports = {FreePorts.next(), FreePorts.next(), FreePorts.next()};
    String members = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:"
        + ports[2];
    String name = "loss-" + UUID.randomUUID();
    AtomicLongArray allowed = new AtomicLongArray(KEYS);
    try (LimiterProcess a = LimiterProcess.start("loss-a", config, ports[0], "--members",
            members, "--cluster-name", name);
        LimiterProcess b = LimiterProcess.start("loss-b", config, ports[1], "--members",
            members, "--cluster-name", name);
        LimiterProcess c = LimiterProcess.start("loss-c", config, ports[2], "--members",
            members, "--cluster-name", name)) {
      for (LimiterProcess p : List.of(a, b, c)) {
        p.awaitReady(Duration.ofSeconds(120));
      }
      Awaits.await("three members, every partition owned", Duration.ofSeconds(60),
          () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 3.0")
              && a.httpGet("/metrics").body().contains(
                  "ratelimit_cluster_partitions_without_owner 0.0")
              && a.httpGet("/healthz").statusCode() == 200);
      try (RlsClient clientA = new RlsClient(a.grpcPort);
          RlsClient clientB = new RlsClient(b.grpcPort)) {
        Load kill = new Load(List.of(clientA, clientB), allowed);
        kill.start();
        kill.awaitCalls(2_000, Duration.ofSeconds(60));
        long killedAt = System.currentTimeMillis();
        c.kill();
        Awaits.await("c removed from the cluster", Duration.ofSeconds(60),
            () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 2.0"));
        // Keep the load on until the survivors have answered for a while as a pair.
        kill.awaitCalls(kill.calls() + 2_000, Duration.ofSeconds(60));
        kill.stop();
        System.out.println("kill -9: " + kill.summary(killedAt));
        assertTrue(kill.failures.size() <= kill.calls() / 1_000,
            "more than 0.1% of calls failed: " + kill.summary(killedAt));
        if (!kill.failures.isEmpty()) {
          long first = Long.MAX_VALUE;
          long last = 0;
          for (Failure f : kill.failures) {
            first = Math.min(first, f.startMillis);
            last = Math.max(last, f.endMillis);
          }
          assertTrue(last - first <= FAILURE_DETECTION_MILLIS,
              "calls failed over " + (last - first) + " ms: " + kill.summary(killedAt));
        }

        Load leave = new Load(List.of(clientA), allowed);
        leave.start();
        leave.awaitCalls(1_000, Duration.ofSeconds(60));
        long leftAt = System.currentTimeMillis();
        assertEquals(0, b.terminate(Duration.ofSeconds(90)), b.log());
        Awaits.await("b gone from the cluster", Duration.ofSeconds(60),
            () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 1.0"));
        leave.awaitCalls(leave.calls() + 1_000, Duration.ofSeconds(60));
        leave.stop();
        System.out.println("SIGTERM: " + leave.summary(leftAt));
        assertEquals(List.of(), List.copyOf(leave.failures), "calls failed while b left");
      }
      for (int k = 0; k < KEYS; k++) {
        assertTrue(allowed.get(k) <= BURST,
            "user-" + k + " admitted " + allowed.get(k) + " of " + BURST);
      }
    }
  }

  /** A failed call: when it started and ended, and why. */
  private record Failure(long startMillis, long endMillis, String status) {
    @Override
    public String toString() {
      return status + " [" + startMillis + ".." + endMillis + "]";
    }
  }

  /**
   * Callers on their own threads, each with one call in flight at a time, round-robin over the
   * given members, on random keys. Bounded in time (at most two minutes) and in calls.
   */
  private static final class Load {
    private static final int THREADS = 8;
    private static final long MAX_CALLS = 200_000;

    private final List<RlsClient> clients;
    private final AtomicLongArray allowed;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final LongAdder calls = new LongAdder();
    private final LongAdder over = new LongAdder();
    private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private final long stopAtNanos = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);

    Load(List<RlsClient> clients, AtomicLongArray allowed) {
      this.clients = clients;
      this.allowed = allowed;
    }

    void start() {
      for (int t = 0; t < THREADS; t++) {
        final int thread = t;
        Thread worker = new Thread(() -> run(thread), "load-" + t);
        worker.setDaemon(true);
        threads.add(worker);
        worker.start();
      }
    }

    private void run(int thread) {
      java.util.Random random = new java.util.Random(thread);
      long n = 0;
      while (running.get() && calls.sum() < MAX_CALLS && System.nanoTime() < stopAtNanos) {
        RlsClient client = clients.get((int) (n++ % clients.size()));
        int key = random.nextInt(KEYS);
        long start = System.currentTimeMillis();
        try {
          RateLimitResponse r = client.futureStub().withDeadlineAfter(DEADLINE_SECONDS,
              TimeUnit.SECONDS).shouldRateLimit(request("loss", descriptor("user", "user-" + key)))
              .get();
          if (r.getOverallCode() == Code.OK) {
            allowed.incrementAndGet(key);
          } else {
            over.increment();
          }
        } catch (ExecutionException e) {
          io.grpc.Status s = io.grpc.Status.fromThrowable(e.getCause());
          failures.add(new Failure(start, System.currentTimeMillis(),
              s.getCode() + ": " + s.getDescription()));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        calls.increment();
      }
    }

    long calls() {
      return calls.sum();
    }

    void awaitCalls(long n, Duration timeout) {
      Awaits.await(n + " calls", timeout, () -> calls.sum() >= n);
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(30));
      }
    }

    String summary(long eventMillis) {
      return calls.sum() + " calls, " + over.sum() + " over the limit, " + failures.size()
          + " failed; event at " + eventMillis + "; failures: "
          + failures.stream().limit(20).toList();
    }
  }
}
