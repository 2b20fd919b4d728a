package io.tollgate.loadtest.generate;

import io.tollgate.loadtest.report.RunResult;
import io.tollgate.loadtest.target.Target;
import io.tollgate.loadtest.target.Target.Outcome;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives a {@link Target}: a warm-up, then a measured phase, with a progress line every second.
 *
 * <p>Open loop: one sender thread sends request {@code i} at its {@link OpenLoopSchedule intended
 * time}, and its latency runs from that time to the answer, so a stall is charged to every request
 * that should have gone out during it. When {@code maxInFlight} calls are open the sender waits;
 * the requests it holds back keep their intended times and their latency grows, as it should.
 *
 * <p>Closed loop: {@code concurrency} calls are kept open; each answer sends the next call at once,
 * and latency runs from the actual send.
 *
 * <p>Latencies go into an HdrHistogram {@link Recorder} (nanoseconds, 3 significant digits). A
 * progress thread takes its interval histogram every second; the warm-up's intervals are dropped
 * and the measured phase's added up. Answers after the measured phase are not counted.
 */
public final class LoadGenerator {

  /** Calls still open this long after the measured phase are abandoned. */
  private static final long DRAIN_NANOS = 5_000_000_000L;

  /** Set while a thread is inside {@link Target#send}, to detect answers given inline. */
  private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

  private static final java.util.concurrent.Executor RESEND =
      java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "closed-loop-resend");
        t.setDaemon(true);
        return t;
      });

  private final Target target;
  private final RunSettings settings;
  private final PrintStream progress;
  private final List<Long> cpuPids;
  private final ProcCpu cpu;

  private final Recorder recorder = new Recorder(3);
  private final LongAdder allowed = new LongAdder();
  private final LongAdder denied = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final Map<String, LongAdder> errorReasons = new ConcurrentHashMap<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private volatile long measureEndNanos = Long.MAX_VALUE;
  private int intervalSeconds;

  /**
   * Also summarize the measured phase every {@code seconds} (0: not) into
   * {@link RunResult#intervals}, and print each summary as an {@code interval} line.
   */
  public LoadGenerator intervals(int seconds) {
    if (seconds < 0) {
      throw new IllegalArgumentException("interval seconds must be >= 0, was " + seconds);
    }
    this.intervalSeconds = seconds;
    return this;
  }

  /**
   * @param cpuPids processes whose CPU time over the measured phase is reported (may be empty)
   */
  public LoadGenerator(Target target, RunSettings settings, PrintStream progress,
      List<Long> cpuPids, ProcCpu cpu) {
    this.target = target;
    this.settings = settings;
    this.progress = progress;
    this.cpuPids = cpuPids;
    this.cpu = cpu;
  }

  /** Runs warm-up and measured phase and returns the measured figures. */
  public RunResult run() throws IOException, InterruptedException {
    prime();
    long start = System.nanoTime() + 50_000_000L;
    long warmupEnd = start + settings.warmupSeconds() * 1_000_000_000L;
    long measureEnd = warmupEnd + settings.measureSeconds() * 1_000_000_000L;
    measureEndNanos = measureEnd;

    Thread driver = settings.openLoop()
        ? new Thread(() -> openLoop(start, measureEnd), "open-loop-sender")
        : new Thread(() -> closedLoop(start), "closed-loop-starter");
    driver.setDaemon(true);
    driver.start();

    Histogram measured = null;
    Histogram phase = new Histogram(3);
    Histogram interval = null;
    long phaseStart = start;
    long[] countsAtPhaseStart = counts();
    long cpuAtMeasureStart = 0;
    long measureStartActual = warmupEnd;
    boolean measuring = settings.warmupSeconds() == 0;
    if (measuring) {
      cpuAtMeasureStart = cpuNow();
    }
    long[] lastCounts = counts();
    IntervalSummaries summaries = intervalSeconds > 0 ? new IntervalSummaries(intervalSeconds)
        : null;
    int summariesPrinted = 0;
    long lastTickNanos = start;
    long tick = start;
    while (true) {
      tick += 1_000_000_000L;
      sleepUntil(Math.min(tick, measureEnd));
      long now = System.nanoTime();
      interval = recorder.getIntervalHistogram(interval);
      phase.add(interval);
      long[] c = counts();
      long done = (c[0] + c[1] + c[2]) - (lastCounts[0] + lastCounts[1] + lastCounts[2]);
      long errs = c[2] - countsAtPhaseStart[2];
      if (measuring && summaries != null) {
        summaries.add(interval, (c[0] + c[1]) - (lastCounts[0] + lastCounts[1]),
            c[2] - lastCounts[2], (now - lastTickNanos) / 1e9);
      }
      lastTickNanos = now;
      lastCounts = c;
      long elapsed = Math.round((now - (measuring ? measureStartActual : start)) / 1e9);
      progress.printf("[%s %3d/%d s] %8d req/s  errors %d  p50 %.3f ms  p99 %.3f ms  in flight %d%n",
          measuring ? "measure" : "warm-up", elapsed,
          measuring ? settings.measureSeconds() : settings.warmupSeconds(),
          done, errs, phase.getValueAtPercentile(50) / 1e6, phase.getValueAtPercentile(99) / 1e6,
          inFlight.get());
      if (summaries != null) {
        summariesPrinted = printIntervals(summaries.finishedSoFar(), summariesPrinted);
      }
      if (now >= measureEnd) {
        break;
      }
      if (!measuring && now >= warmupEnd) {
        measuring = true;
        measureStartActual = now;
        cpuAtMeasureStart = cpuNow();
        countsAtPhaseStart = c;
        phase = new Histogram(3);
        phaseStart = now;
      }
    }
    long measureEndActual = System.nanoTime();
    long cpuAtMeasureEnd = cpuNow();
    measured = phase;
    long[] end = counts();
    stopped.set(true);
    driver.join(DRAIN_NANOS / 1_000_000);
    long drainUntil = System.nanoTime() + DRAIN_NANOS;
    while (inFlight.get() > 0 && System.nanoTime() < drainUntil) {
      LockSupport.parkNanos(1_000_000L);
    }

    RunResult r = new RunResult();
    r.mode = settings.mode();
    r.ratePerSecond = settings.openLoop() ? settings.ratePerSecond() : 0;
    r.concurrency = settings.openLoop() ? 0 : settings.concurrency();
    r.descriptors = settings.descriptors();
    r.keys = settings.keys().describe();
    r.warmupSeconds = settings.warmupSeconds();
    r.measuredSeconds = (measureEndActual - phaseStart) / 1e9;
    r.allowed = end[0] - countsAtPhaseStart[0];
    r.denied = end[1] - countsAtPhaseStart[1];
    r.errors = end[2] - countsAtPhaseStart[2];
    r.abandoned = inFlight.get();
    for (Map.Entry<String, LongAdder> e : errorReasons.entrySet()) {
      r.errorReasons.put(e.getKey(), e.getValue().sum());
    }
    r.throughput = (r.allowed + r.denied) / r.measuredSeconds;
    r.setLatency(measured);
    if (summaries != null) {
      r.intervals = new ArrayList<>(summaries.finish());
      printIntervals(r.intervals, summariesPrinted);
    }
    if (!cpuPids.isEmpty()) {
      r.cpuPids = cpuPids;
      r.cpuSeconds = (cpuAtMeasureEnd - cpuAtMeasureStart) / 1e9;
      long decisions = r.allowed + r.denied;
      r.cpuMicrosPerDecision = decisions == 0 ? 0 : r.cpuSeconds * 1e6 / decisions;
    }
    return r;
  }

  private int printIntervals(List<RunResult.Interval> intervals, int printed) {
    for (int n = printed; n < intervals.size(); n++) {
      RunResult.Interval i = intervals.get(n);
      progress.printf(java.util.Locale.ROOT,
          "interval %d (%.0f-%.0f s): %.0f req/s, p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms, "
              + "errors %d%n", i.index, i.startSecond, i.startSecond + i.seconds, i.throughput,
          i.p50Ms, i.p99Ms, i.p999Ms, i.maxMs, i.errors);
    }
    return intervals.size();
  }

  /**
   * Sends one request and waits for its answer before the clock starts, so that connecting (and
   * the first call's class loading) is not charged to the requests of the first second.
   */
  private void prime() throws InterruptedException {
    java.util.concurrent.CountDownLatch answered = new java.util.concurrent.CountDownLatch(1);
    target.send(new int[settings.descriptors()], (outcome, error) -> answered.countDown());
    answered.await(10, java.util.concurrent.TimeUnit.SECONDS);
  }

  private long[] counts() {
    return new long[] {allowed.sum(), denied.sum(), errors.sum()};
  }

  private long cpuNow() {
    if (cpuPids.isEmpty()) {
      return 0;
    }
    try {
      return cpu.cpuNanos(cpuPids);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read CPU time of " + cpuPids + ": " + e.getMessage(),
          e);
    }
  }

  private void openLoop(long start, long measureEnd) {
    OpenLoopSchedule schedule = new OpenLoopSchedule(start, settings.ratePerSecond());
    SplittableRandom random = new SplittableRandom(settings.seed());
    for (long i = 0; !stopped.get(); i++) {
      long intended = schedule.intendedNanos(i);
      if (intended >= measureEnd) {
        return;
      }
      sleepUntil(intended);
      while (inFlight.get() >= settings.maxInFlight()) {
        if (stopped.get()) {
          return;
        }
        LockSupport.parkNanos(20_000L);
      }
      send(random, intended);
    }
  }

  private void closedLoop(long start) {
    sleepUntil(start);
    SplittableRandom seeds = new SplittableRandom(settings.seed());
    for (int i = 0; i < settings.concurrency(); i++) {
      SplittableRandom random = seeds.split();
      sendClosed(random);
    }
  }

  private void sendClosed(SplittableRandom random) {
    if (stopped.get() || System.nanoTime() >= measureEndNanos) {
      return;
    }
    long sentAt = System.nanoTime();
    send(random, sentAt, () -> {
      // A target may answer inside send (a call that fails at once): hand the next call to
      // another thread then, rather than recursing until the stack runs out.
      if (DEPTH.get()[0] > 0) {
        RESEND.execute(() -> sendClosed(random));
      } else {
        sendClosed(random);
      }
    });
  }

  private void send(SplittableRandom random, long startNanos) {
    send(random, startNanos, null);
  }

  private void send(SplittableRandom random, long startNanos, Runnable then) {
    int[] keys = new int[settings.descriptors()];
    // The random source is confined: the sender thread in open loop, one chain of calls in closed.
    for (int d = 0; d < keys.length; d++) {
      keys[d] = settings.keys().next(random);
    }
    inFlight.incrementAndGet();
    int[] depth = DEPTH.get();
    depth[0]++;
    try {
      target.send(keys, (outcome, error) -> complete(outcome, error, startNanos, then));
    } finally {
      depth[0]--;
    }
  }

  private void complete(Outcome outcome, String error, long startNanos, Runnable then) {
    long now = System.nanoTime();
    inFlight.decrementAndGet();
    if (now < measureEndNanos) {
      switch (outcome) {
        case ALLOWED -> allowed.increment();
        case DENIED -> denied.increment();
        case ERROR -> {
          errors.increment();
          if (errorReasons.size() < 32 || errorReasons.containsKey(error)) {
            errorReasons.computeIfAbsent(String.valueOf(error), k -> new LongAdder()).increment();
          }
        }
      }
      if (outcome != Outcome.ERROR) {
        recorder.recordValue(Math.max(0, now - startNanos));
      }
    }
    if (then != null) {
      if (outcome == Outcome.ERROR) {
        // Do not spin against a server that fails every call at once.
        LockSupport.parkNanos(1_000_000L);
      }
      then.run();
    }
  }

  private static void sleepUntil(long deadline) {
    long wait;
    while ((wait = deadline - System.nanoTime()) > 0) {
      LockSupport.parkNanos(wait);
    }
  }
}
