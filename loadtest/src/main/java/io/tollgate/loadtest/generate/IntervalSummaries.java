package io.tollgate.loadtest.generate;

import io.tollgate.loadtest.report.RunResult.Interval;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * Cuts the measured phase into intervals of {@code seconds} (a soak run's minutes) and summarizes
 * each: decisions per second, errors, p50/p99/p99.9/max. The generator adds one second's
 * histogram and counts at a time; a partial interval at the end is summarized too, with its own
 * length, so nothing measured is dropped.
 */
public final class IntervalSummaries {

  private final int seconds;
  private final List<Interval> done = new ArrayList<>();
  private Histogram current = new Histogram(3);
  private long decisions;
  private long errors;
  private double elapsed;
  private double startSecond;

  /** @param seconds the length of one interval, > 0 */
  public IntervalSummaries(int seconds) {
    if (seconds <= 0) {
      throw new IllegalArgumentException("seconds must be > 0, was " + seconds);
    }
    this.seconds = seconds;
  }

  /**
   * Adds one tick of the measured phase.
   *
   * @param latencies the tick's latencies, nanoseconds (not kept)
   * @param tickDecisions allowed + denied answered in the tick
   * @param tickErrors failed calls in the tick
   * @param tickSeconds the tick's actual length
   */
  public void add(Histogram latencies, long tickDecisions, long tickErrors, double tickSeconds) {
    current.add(latencies);
    decisions += tickDecisions;
    errors += tickErrors;
    elapsed += tickSeconds;
    if (elapsed >= seconds - 0.5) {
      close();
    }
  }

  /** The intervals closed so far. */
  public List<Interval> finishedSoFar() {
    return java.util.Collections.unmodifiableList(done);
  }

  /** The summaries, closing a partial last interval (of at least half a second) first. */
  public List<Interval> finish() {
    if (elapsed >= 0.5) {
      close();
    }
    return List.copyOf(done);
  }

  private void close() {
    Interval i = new Interval();
    i.index = done.size() + 1;
    i.startSecond = startSecond;
    i.seconds = elapsed;
    i.decisions = decisions;
    i.errors = errors;
    i.throughput = elapsed > 0 ? decisions / elapsed : 0;
    i.p50Ms = current.getValueAtPercentile(50) / 1e6;
    i.p99Ms = current.getValueAtPercentile(99) / 1e6;
    i.p999Ms = current.getValueAtPercentile(99.9) / 1e6;
    i.maxMs = current.getMaxValue() / 1e6;
    done.add(i);
    startSecond += elapsed;
    current = new Histogram(3);
    decisions = 0;
    errors = 0;
    elapsed = 0;
  }
}
