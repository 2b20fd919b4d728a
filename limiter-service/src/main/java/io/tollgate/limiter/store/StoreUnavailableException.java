package io.tollgate.limiter.store;

/** The store could not answer: a member is down, a partition is moving, or a call timed out. */
public final class StoreUnavailableException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** Creates an exception with its cause. */
  public StoreUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
