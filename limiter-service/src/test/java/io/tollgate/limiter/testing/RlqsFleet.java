package io.tollgate.limiter.testing;

import io.tollgate.limiter.algorithm.WallClock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drives simulated proxies ({@link RlqsProxy}): each gets its own steady demand, offers its
 * requests every tick and reports every report interval, and the fleet counts what all of them
 * admitted per aligned window of the limit, beside the documented allowance for assignment changes
 * in that window (the larger of the old and new bucket size per change).
 *
 * <p>With a {@link FakeClock} the fleet moves the clock itself and, after each round of reports,
 * waits for every live proxy's answer, so runs are deterministic. With the system clock it
 * sleeps between ticks and does not wait for answers.
 */
public final class RlqsFleet {

  /** One proxy of the fleet and its demand. */
  public static final class Entry {
    public final RlqsProxy proxy;
    volatile double demandPerSecond;
    double carry;
    volatile boolean alive = true;
    long admittedTotal;
    long nextReport = Long.MIN_VALUE;

    Entry(RlqsProxy proxy, double demandPerSecond) {
      this.proxy = proxy;
      this.demandPerSecond = demandPerSecond;
    }
  }

  /** What the fleet admitted in one window, and the allowance for changes in it. */
  public record Window(long start, long admitted, long offered, long changeAllowance) {}

  private final WallClock clock;
  private final long windowNanos;
  private final List<Entry> entries = new ArrayList<>();
  private final Map<Long, long[]> windows = new ConcurrentHashMap<>();

  private java.util.function.IntSupplier failover;
  private int reconnects;

  /**
   * When a live proxy's stream ends (its member died or stopped), it opens a new stream to the
   * port this gives, keeping its assignment meanwhile, as Envoy does.
   */
  public void failover(java.util.function.IntSupplier port) {
    this.failover = port;
  }

  /** Streams reopened after a failure. */
  public int reconnects() {
    return reconnects;
  }

  public RlqsFleet(WallClock clock, long windowNanos) {
    this.clock = clock;
    this.windowNanos = windowNanos;
  }

  /** Adds a proxy with a demand in requests per second. */
  public Entry add(RlqsProxy proxy, double demandPerSecond) {
    Entry e = new Entry(proxy, demandPerSecond);
    entries.add(e);
    proxy.onChange((p, oldMax, newMax) -> allow(clock.epochNanos(), Math.max(oldMax, newMax)));
    return e;
  }

  public List<Entry> entries() {
    return entries;
  }

  public void setDemand(Entry e, double demandPerSecond) {
    e.demandPerSecond = demandPerSecond;
  }

  /** Stops a proxy: it sends and admits nothing more and its connection drops. */
  public void kill(Entry e) {
    e.alive = false;
    e.proxy.kill();
  }

  private synchronized void allow(long now, long units) {
    window(now)[2] += units;
  }

  private synchronized long[] window(long now) {
    return windows.computeIfAbsent(Math.floorDiv(now, windowNanos), w -> new long[3]);
  }

  /**
   * Runs for {@code durationNanos}: every {@code tickNanos} each live proxy offers its demand,
   * every {@code reportNanos} each reports, the proxies' reports spread evenly over the interval
   * (proxy {@code i} of {@code n} at {@code i/n} of it), as unsynchronized proxies would be.
   */
  public void run(long durationNanos, long tickNanos, long reportNanos) throws InterruptedException {
    long start = clock.epochNanos();
    long end = start + durationNanos;
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      if (e.nextReport == Long.MIN_VALUE) {
        e.nextReport = start + reportNanos * i / entries.size();
      }
    }
    while (clock.epochNanos() < end) {
      long now = clock.epochNanos();
      for (Entry e : entries) {
        if (e.alive && failover != null && (e.proxy.error() != null || e.proxy.completed())) {
          e.proxy.connect(failover.getAsInt());
          reconnects++;
        }
        if (e.alive && now >= e.nextReport) {
          report(e);
          e.nextReport += reportNanos;
          if (e.nextReport <= now) {
            e.nextReport = now + reportNanos;
          }
        }
      }
      for (Entry e : entries) {
        if (!e.alive) {
          continue;
        }
        e.carry += e.demandPerSecond * tickNanos / 1e9;
        int n = (int) Math.floor(e.carry);
        e.carry -= n;
        if (n > 0) {
          int ok = e.proxy.offer(n);
          e.admittedTotal += ok;
          synchronized (this) {
            long[] w = window(now);
            w[0] += ok;
            w[1] += n;
          }
        }
      }
      if (clock instanceof FakeClock fake) {
        fake.advance(tickNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
      } else {
        long sleep = tickNanos - (clock.epochNanos() - now);
        if (sleep > 0) {
          Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        }
      }
    }
  }

  /** One proxy reports; with a fake clock, waits for the answer. */
  private void report(Entry e) throws InterruptedException {
    int seen = e.proxy.responses();
    e.proxy.report();
    if (clock instanceof FakeClock && !e.proxy.awaitResponse(seen, 20_000)) {
      throw new AssertionError(e.proxy.name + " got no answer to its report; error: "
          + e.proxy.error());
    }
  }

  /** Every complete window seen so far, oldest first. */
  public synchronized List<Window> windows() {
    List<Window> out = new ArrayList<>();
    long current = Math.floorDiv(clock.epochNanos(), windowNanos);
    for (Map.Entry<Long, long[]> w : new TreeMap<>(windows).entrySet()) {
      if (w.getKey() < current) {
        out.add(new Window(w.getKey() * windowNanos, w.getValue()[0], w.getValue()[1],
            w.getValue()[2]));
      }
    }
    return out;
  }

  /** Forgets the windows counted so far. */
  public synchronized void resetWindows() {
    windows.clear();
  }
}
