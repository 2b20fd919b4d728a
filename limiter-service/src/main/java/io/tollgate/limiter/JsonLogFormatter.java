package io.tollgate.limiter;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * {@code --log-format json}: one JSON object per line, for log collectors. Fields: {@code time}
 * (UTC, ISO-8601 with milliseconds), {@code level}, {@code logger}, {@code thread} (the JUL
 * thread id), {@code message}, and {@code exception} (the stack trace) when there is one.
 */
final class JsonLogFormatter extends Formatter {

  @Override
  public String format(LogRecord record) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"time\":\"").append(Instant.ofEpochMilli(record.getMillis())).append('"');
    field(sb, "level", record.getLevel().getName());
    field(sb, "logger", record.getLoggerName());
    sb.append(",\"thread\":").append(record.getLongThreadID());
    field(sb, "message", formatMessage(record));
    if (record.getThrown() != null) {
      StringWriter trace = new StringWriter();
      record.getThrown().printStackTrace(new PrintWriter(trace));
      field(sb, "exception", trace.toString());
    }
    return sb.append("}\n").toString();
  }

  private static void field(StringBuilder sb, String name, String value) {
    sb.append(",\"").append(name).append("\":");
    if (value == null) {
      sb.append("null");
      return;
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
          if (c < 0x20 || Character.isSurrogate(c)) {
            // Control characters, and surrogates (a lone one would not be valid UTF-8 output).
            sb.append("\\u").append(String.format("%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
