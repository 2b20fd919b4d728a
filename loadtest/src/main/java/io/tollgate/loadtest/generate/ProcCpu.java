package io.tollgate.loadtest.generate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time of processes from {@code /proc/<pid>/stat}: user plus system time of every thread
 * (fields 14 and 15, {@code utime} and {@code stime}), in clock ticks converted to nanoseconds.
 * The difference of two readings over a measured window, divided by the decisions completed in
 * it, is the CPU cost of a decision.
 */
public final class ProcCpu {

  /** Linux's USER_HZ on every common architecture; {@code getconf CLK_TCK} confirms it. */
  public static final long DEFAULT_TICKS_PER_SECOND = 100;

  private final Path proc;
  private final long ticksPerSecond;

  public ProcCpu() {
    this(Path.of("/proc"), ticksPerSecond());
  }

  public ProcCpu(Path proc, long ticksPerSecond) {
    if (ticksPerSecond <= 0) {
      throw new IllegalArgumentException("ticksPerSecond must be > 0, was " + ticksPerSecond);
    }
    this.proc = proc;
    this.ticksPerSecond = ticksPerSecond;
  }

  /** The CPU time so far of process {@code pid}, in nanoseconds. */
  public long cpuNanos(long pid) throws IOException {
    String stat = Files.readString(proc.resolve(Long.toString(pid)).resolve("stat"));
    long ticks = parseTicks(stat);
    return ticks * (1_000_000_000L / ticksPerSecond);
  }

  /** The summed CPU time of several processes, in nanoseconds. */
  public long cpuNanos(List<Long> pids) throws IOException {
    long sum = 0;
    for (long pid : pids) {
      sum += cpuNanos(pid);
    }
    return sum;
  }

  /**
   * {@code utime + stime} in ticks from the text of a stat file. The command name (field 2) is in
   * parentheses and may itself hold spaces and parentheses, so fields are counted from the last
   * {@code ')'}.
   */
  public static long parseTicks(String stat) {
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      throw new IllegalArgumentException("not a /proc stat line: no ')' in '" + stat + "'");
    }
    String[] fields = stat.substring(close + 1).trim().split("\\s+");
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    if (fields.length < 13) {
      throw new IllegalArgumentException("not a /proc stat line: " + fields.length
          + " fields after the command name");
    }
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  private static long ticksPerSecond() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      if (p.waitFor() == 0) {
        return Long.parseLong(out);
      }
    } catch (IOException | NumberFormatException e) {
      // getconf missing or odd: the Linux default below.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return DEFAULT_TICKS_PER_SECOND;
  }
}
