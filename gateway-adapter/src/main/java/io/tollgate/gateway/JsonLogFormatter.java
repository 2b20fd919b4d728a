package io.tollgate.gateway;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * Lifecycle logs as JSON lines ({@code --log-format json}): {@code {"time", "level", "logger",
 * "message", "error"}}, one object per line, for log shippers that parse JSON. The access log is
 * JSON lines already.
 */
final class JsonLogFormatter extends Formatter {

  @Override
  public String format(LogRecord r) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"time\":\"").append(Instant.ofEpochMilli(r.getMillis())).append('"');
    sb.append(",\"level\":");
    AccessLog.quote(sb, r.getLevel().getName());
    sb.append(",\"logger\":");
    AccessLog.quote(sb, r.getLoggerName());
    sb.append(",\"message\":");
    AccessLog.quote(sb, formatMessage(r));
    if (r.getThrown() != null) {
      StringWriter w = new StringWriter();
      r.getThrown().printStackTrace(new PrintWriter(w));
      sb.append(",\"error\":");
      AccessLog.quote(sb, w.toString());
    }
    return sb.append("}\n").toString();
  }
}
