package io.tollgate.gateway;

import io.micrometer.core.instrument.Counter;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The access log: one JSON object per line per request, written by a thread of its own so a slow
 * terminal or disk never blocks an event loop. When 10,000 lines are waiting, further lines are
 * dropped and counted ({@code gateway_access_log_dropped_total}).
 */
public final class AccessLog implements AutoCloseable {

  private static final String POISON = "";

  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(10_000);
  private final PrintStream out;
  private final Counter dropped;
  private final Thread writer;

  /** Writes to {@code out}; null disables the log. */
  public AccessLog(OutputStream out, Counter dropped) {
    this.out = out == null ? null
        : new PrintStream(out, false, StandardCharsets.UTF_8);
    this.dropped = dropped;
    this.writer = new Thread(this::run, "access-log");
    writer.setDaemon(true);
    if (this.out != null) {
      writer.start();
    }
  }

  /** Whether lines are written at all; when not, callers need not build them. */
  public boolean enabled() {
    return out != null;
  }

  /** Queues one line. */
  public void write(String jsonLine) {
    if (out != null && !queue.offer(jsonLine)) {
      dropped.increment();
    }
  }

  private void run() {
    try {
      while (true) {
        String line = queue.take();
        if (line == POISON) {
          break;
        }
        out.println(line);
        if (queue.isEmpty()) {
          out.flush();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    String line;
    while ((line = queue.poll()) != null && line != POISON) {
      out.println(line);
    }
    out.flush();
  }

  /** Appends {@code value} to {@code sb} as a JSON string (quoted and escaped). */
  public static StringBuilder quote(StringBuilder sb, String value) {
    if (value == null) {
      return sb.append("null");
    }
    sb.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"');
  }

  @Override
  public void close() throws InterruptedException {
    if (out != null) {
      queue.offer(POISON, 1, TimeUnit.SECONDS);
      writer.join(2_000);
    }
  }
}
