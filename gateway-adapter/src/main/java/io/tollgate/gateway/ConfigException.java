package io.tollgate.gateway;

/** A config file that cannot be used; the message names the file, line, field and problem. */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }
}
