package io.tollgate.limiter.config;

/**
 * A configuration that cannot be loaded. The message names the file, the line, the field path and
 * what was wrong, e.g. {@code rules.yaml:7: descriptors[0].rate_limit.unit: unknown unit 'hours'}.
 */
public final class ConfigException extends Exception {

  private static final long serialVersionUID = 1L;

  /** Creates an exception with a complete message. */
  public ConfigException(String message) {
    super(message);
  }

  /** Creates an exception for a field of a file. */
  static ConfigException at(String file, int line, String path, String message) {
    StringBuilder sb = new StringBuilder(file);
    if (line > 0) {
      sb.append(':').append(line);
    }
    sb.append(": ");
    if (!path.isEmpty()) {
      sb.append(path).append(": ");
    }
    return new ConfigException(sb.append(message).toString());
  }
}
