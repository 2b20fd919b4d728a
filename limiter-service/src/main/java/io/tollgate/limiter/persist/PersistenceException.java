package io.tollgate.limiter.persist;

/**
 * The database could not be opened, migrated, read or written. The message says what was being
 * done and why it failed; it never contains a password.
 */
public final class PersistenceException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** Creates an exception with its cause. */
  public PersistenceException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Creates an exception without a cause. */
  public PersistenceException(String message) {
    super(message);
  }
}
