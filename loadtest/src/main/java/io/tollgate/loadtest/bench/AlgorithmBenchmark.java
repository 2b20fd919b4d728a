package io.tollgate.loadtest.bench;

import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.loadtest.generate.ZipfSampler;
import java.time.ZoneId;
import java.util.SplittableRandom;
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
 * The decide step of each algorithm ({@code tryAcquire} on a state), as the entry processor runs
 * it on the owner. States of 10,000 keys are picked in a Zipf (s = 1.1) order computed ahead, and
 * the clock advances 1 µs per decision, so windows roll and buckets refill as in service.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AlgorithmBenchmark {

  private static final int KEYS = 10_000;
  private static final int MASK = (1 << 16) - 1;

  @Param({"FIXED_WINDOW", "TOKEN_BUCKET", "SLIDING_WINDOW", "CALENDAR_QUOTA"})
  public String kind;

  private LimitAlgorithm algorithm;
  private LimitState[] states;
  private int[] order;
  private int i;
  private long nowNanos;

  @Setup
  public void setUp() {
    long second = 1_000_000_000L;
    algorithm = kind.equals("CALENDAR_QUOTA")
        ? new CalendarQuota(1_000_000_000L, CalendarPeriod.DAY, 0, ZoneId.of("UTC"))
        : LimitAlgorithm.of(LimitAlgorithm.Kind.valueOf(kind), 1_000, second, 1_000);
    states = new LimitState[KEYS];
    for (int k = 0; k < KEYS; k++) {
      states[k] = new LimitState();
    }
    ZipfSampler zipf = new ZipfSampler(KEYS, 1.1);
    SplittableRandom random = new SplittableRandom(42);
    order = new int[MASK + 1];
    for (int k = 0; k < order.length; k++) {
      order[k] = zipf.next(random);
    }
    nowNanos = 1_700_000_000L * second;
  }

  @Benchmark
  public Decision tryAcquire() {
    nowNanos += 1_000;
    return algorithm.tryAcquire(states[order[i++ & MASK]], 1, nowNanos);
  }
}
