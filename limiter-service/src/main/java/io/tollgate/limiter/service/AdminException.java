package io.tollgate.limiter.service;

/** An admin request that cannot be carried out; the message says why for the caller. */
public final class AdminException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** What went wrong, mapped to a gRPC status and an HTTP code by the transports. */
  public enum Kind {
    /** A field is missing or wrong (INVALID_ARGUMENT, 400). */
    INVALID,
    /** The plan or key does not exist (NOT_FOUND, 404). */
    NOT_FOUND,
    /** The change conflicts with what exists (ALREADY_EXISTS / FAILED_PRECONDITION, 409). */
    CONFLICT
  }

  private final Kind kind;

  public AdminException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  static AdminException invalid(String message) {
    return new AdminException(Kind.INVALID, message);
  }

  static AdminException notFound(String message) {
    return new AdminException(Kind.NOT_FOUND, message);
  }

  static AdminException conflict(String message) {
    return new AdminException(Kind.CONFLICT, message);
  }
}
