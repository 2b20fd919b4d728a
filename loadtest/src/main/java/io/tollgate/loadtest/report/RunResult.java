package io.tollgate.loadtest.report;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * The measured figures of one run against one server, as written to (and read back from) its JSON
 * file. Latencies are in milliseconds; the full histogram is kept, compressed and base64-encoded,
 * so rounds can be merged or re-read later.
 */
public final class RunResult {

  /** Scenario id, e.g. {@code closed-1d-uniform}; runs of one scenario are compared. */
  public String scenario = "";
  /** Human title of the scenario. */
  public String title = "";
  /** Server name, e.g. {@code tollgate}, {@code echo}, {@code redis}. */
  public String server = "";
  public int round;
  public String target = "";
  public String startedAt = "";

  public String mode = "";
  public double ratePerSecond;
  public int concurrency;
  public int descriptors;
  public String keys = "";
  public int warmupSeconds;
  public double measuredSeconds;

  public long allowed;
  public long denied;
  public long errors;
  /** Calls still open when the run ended (not counted in any other figure). */
  public long abandoned;
  public Map<String, Long> errorReasons = new LinkedHashMap<>();

  /** Decisions (allowed + denied) per second over the measured phase. */
  public double throughput;
  public double p50Ms;
  public double p90Ms;
  public double p99Ms;
  public double p999Ms;
  public double maxMs;
  public double meanMs;
  /** The percentile curve: pairs of [percentile, latency ms]. */
  public List<double[]> percentiles = new ArrayList<>();
  public String histogram = "";

  public List<Long> cpuPids = new ArrayList<>();
  public double cpuSeconds;
  /** Server CPU time per decision over the measured phase, microseconds; 0 when not measured. */
  public double cpuMicrosPerDecision;

  /** Summaries of consecutive parts of the measured phase (run --interval-seconds); else empty. */
  public List<Interval> intervals = new ArrayList<>();

  /** One part of the measured phase: e.g. one minute of a soak run. */
  public static final class Interval {
    /** 1 for the first interval. */
    public int index;
    /** Seconds from the start of the measured phase. */
    public double startSecond;
    /** The interval's length in seconds (the last may be shorter). */
    public double seconds;
    public long decisions;
    public long errors;
    /** Decisions per second over the interval. */
    public double throughput;
    public double p50Ms;
    public double p99Ms;
    public double p999Ms;
    public double maxMs;
  }

  /** Fills the latency figures from a histogram of nanoseconds. */
  public void setLatency(Histogram h) {
    p50Ms = h.getValueAtPercentile(50) / 1e6;
    p90Ms = h.getValueAtPercentile(90) / 1e6;
    p99Ms = h.getValueAtPercentile(99) / 1e6;
    p999Ms = h.getValueAtPercentile(99.9) / 1e6;
    maxMs = h.getMaxValue() / 1e6;
    meanMs = h.getTotalCount() == 0 ? 0 : h.getMean() / 1e6;
    percentiles = new ArrayList<>();
    if (h.getTotalCount() > 0) {
      for (HistogramIterationValue v : h.percentiles(5)) {
        percentiles.add(new double[] {v.getPercentileLevelIteratedTo(),
            v.getValueIteratedTo() / 1e6});
        if (v.getPercentileLevelIteratedTo() >= 99.9999) {
          break;
        }
      }
    }
    ByteBuffer buffer = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int length = h.encodeIntoCompressedByteBuffer(buffer);
    histogram = Base64.getEncoder().encodeToString(
        java.util.Arrays.copyOf(buffer.array(), length));
  }

  /** Decisions completed in the measured phase. */
  public long decisions() {
    return allowed + denied;
  }
}
