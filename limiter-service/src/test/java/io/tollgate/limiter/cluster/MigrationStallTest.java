package io.tollgate.limiter.cluster;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
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
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Counters move between members under load without stalling the decisions. Two limiter
 * processes take load over Envoy's rate-limit API on many keys; a third joins (partitions, with
 * their counters, migrate to it), then the second leaves with SIGTERM (its partitions migrate to
 * the others). Measured over each phase: the longest gap between two consecutive answered calls,
 * which must stay under a second, and the failed calls, of which there must be none.
 */
class MigrationStallTest {

  private static final int KEYS = 50_000;
  private static final long MAX_GAP_MILLIS = 1_000;
  private static final String RULES = """
      domain: move
      descriptors:
        - key: user
          rate_limit: {algorithm: fixed_window, requests_per_unit: 1000000, unit: hour}
      """;

  @TempDir
  Path dir;

  @Test
  void aMemberJoiningAndOneLeavingMoveCountersWithoutAStall() throws Exception {
    Path config = dir.resolve("rules.yaml");
    Files.writeString(config, RULES);
    int[] ports = {FreePorts.next(), FreePorts.next(), FreePorts.next()};
    String members = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:"
        + ports[2];
    String name = "move-" + UUID.randomUUID();
    try (LimiterProcess a = LimiterProcess.start("move-a", config, ports[0], "--members",
            members, "--cluster-name", name);
        LimiterProcess b = LimiterProcess.start("move-b", config, ports[1], "--members",
            members, "--cluster-name", name)) {
      a.awaitReady(Duration.ofSeconds(120));
      b.awaitReady(Duration.ofSeconds(120));
      Awaits.await("two members", Duration.ofSeconds(60),
          () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 2.0"));
      try (RlsClient clientA = new RlsClient(a.grpcPort)) {
        Load load = new Load(clientA);
        load.start();
        load.awaitCalls(20_000, Duration.ofSeconds(90));
        System.out.println("before the join: " + owned(a) + " owned on a, " + owned(b)
            + " on b");

        load.mark();
        try (LimiterProcess c = LimiterProcess.start("move-c", config, ports[2], "--members",
            members, "--cluster-name", name)) {
          c.awaitReady(Duration.ofSeconds(120));
          Awaits.await("c owns counters", Duration.ofSeconds(90), () -> owned(c) > 0);
          Awaits.await("no partition without an owner", Duration.ofSeconds(60),
              () -> a.httpGet("/metrics").body().contains(
                  "ratelimit_cluster_partitions_without_owner 0.0"));
          load.awaitCalls(load.calls() + 5_000, Duration.ofSeconds(60));
          Phase join = load.phase();
          System.out.println("join: " + join + "; owned after: a " + owned(a) + ", b "
              + owned(b) + ", c " + owned(c));

          load.mark();
          assertEquals(0, b.terminate(Duration.ofSeconds(90)), b.log());
          Awaits.await("b gone", Duration.ofSeconds(60),
              () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 2.0"));
          load.awaitCalls(load.calls() + 5_000, Duration.ofSeconds(60));
          Phase leave = load.phase();
          load.stop();
          System.out.println("leave: " + leave + "; owned after: a " + owned(a) + ", c "
              + owned(c));

          assertEquals(0, join.failures, "calls failed while c joined: " + join);
          assertEquals(0, leave.failures, "calls failed while b left: " + leave);
          assertTrue(join.longestGapMillis < MAX_GAP_MILLIS, "join: " + join);
          assertTrue(leave.longestGapMillis < MAX_GAP_MILLIS, "leave: " + leave);
        }
      }
    }
  }

  /** The limiter's count of counters it owns, from /metrics. */
  private static long owned(LimiterProcess p) {
    for (String line : p.httpGet("/metrics").body().split("\n")) {
      if (line.startsWith("ratelimit_counters_owned_entries ")) {
        return (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1));
      }
    }
    throw new AssertionError("no ratelimit_counters_owned_entries in /metrics");
  }

  /** What one phase saw: calls answered and failed, and the longest wait for an answer. */
  private record Phase(long answered, long failures, long longestGapMillis,
      long gapEndedAtMillis, List<String> failureSamples) {
    @Override
    public String toString() {
      return answered + " answered, " + failures + " failed, longest gap between answers "
          + longestGapMillis + " ms (ended at " + java.time.Instant.ofEpochMilli(gapEndedAtMillis)
          + ")" + (failureSamples.isEmpty() ? "" : ", " + failureSamples);
    }
  }

  /**
   * Callers on their own threads, each with one call in flight, on random keys. Bounded in time
   * (four minutes) and in calls. Records when each answer arrived, so a phase can report the
   * longest stretch without any answer.
   */
  private static final class Load {
    private static final int THREADS = 8;
    private static final long MAX_CALLS = 400_000;
    private static final long DEADLINE_SECONDS = 20;

    private final RlsClient client;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final LongAdder calls = new LongAdder();
    private final List<Thread> threads = new ArrayList<>();
    private final long stopAtNanos = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
    /** Answer times (nanoTime) since the phase began; failures since then. */
    private volatile ConcurrentLinkedQueue<Long> answers = new ConcurrentLinkedQueue<>();
    private volatile ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private volatile long phaseStartNanos = System.nanoTime();

    Load(RlsClient client) {
      this.client = client;
    }

    void start() {
      for (int t = 0; t < THREADS; t++) {
        final int thread = t;
        Thread worker = new Thread(() -> run(thread), "move-load-" + t);
        worker.setDaemon(true);
        threads.add(worker);
        worker.start();
      }
    }

    private void run(int thread) {
      java.util.Random random = new java.util.Random(thread);
      while (running.get() && calls.sum() < MAX_CALLS && System.nanoTime() < stopAtNanos) {
        int key = random.nextInt(KEYS);
        try {
          RateLimitResponse r = client.futureStub().withDeadlineAfter(DEADLINE_SECONDS,
              TimeUnit.SECONDS).shouldRateLimit(request("move", descriptor("user", "u" + key)))
              .get();
          if (r.getOverallCode() == RateLimitResponse.Code.OK) {
            answers.add(System.nanoTime());
          } else {
            failures.add("OVER_LIMIT on a limit that cannot be reached");
          }
        } catch (ExecutionException e) {
          io.grpc.Status s = io.grpc.Status.fromThrowable(e.getCause());
          failures.add(s.getCode() + ": " + s.getDescription());
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

    /** Starts a new phase now. */
    void mark() {
      answers = new ConcurrentLinkedQueue<>();
      failures = new ConcurrentLinkedQueue<>();
      phaseStartNanos = System.nanoTime();
    }

    /** The phase so far: the longest gap counts from the phase's start to now. */
    Phase phase() {
      long now = System.nanoTime();
      long[] times = answers.stream().mapToLong(Long::longValue).sorted().toArray();
      long previous = phaseStartNanos;
      long gap = 0;
      long gapEnd = phaseStartNanos;
      for (long t : times) {
        if (t - previous > gap) {
          gap = t - previous;
          gapEnd = t;
        }
        previous = t;
      }
      if (now - previous > gap) {
        gap = now - previous;
        gapEnd = now;
      }
      long endEpochMillis = System.currentTimeMillis()
          - TimeUnit.NANOSECONDS.toMillis(now - gapEnd);
      List<String> f = List.copyOf(failures);
      return new Phase(times.length, f.size(), TimeUnit.NANOSECONDS.toMillis(gap),
          endEpochMillis, f.stream().limit(10).toList());
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(30));
      }
    }
  }
}
