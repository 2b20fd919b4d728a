package io.tollgate.limiter.cli;

/**
 * A command that ran and failed: the server answered an error, could not be reached, or a local
 * file could not be read. Printed as {@code error: <message>}; the command exits 1.
 */
final class CommandFailure extends Exception {

  private static final long serialVersionUID = 1L;

  /** The HTTP status of the server's answer, or 0 when there was none. */
  final int httpStatus;

  CommandFailure(String message) {
    this(message, 0);
  }

  CommandFailure(String message, int httpStatus) {
    super(message);
    this.httpStatus = httpStatus;
  }
}
