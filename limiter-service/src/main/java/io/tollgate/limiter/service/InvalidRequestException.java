package io.tollgate.limiter.service;

/** A request that cannot be decided as sent; the message names the field and the problem. */
public final class InvalidRequestException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** Creates an exception with the message for the caller. */
  public InvalidRequestException(String message) {
    super(message, null, false, false);
  }
}
