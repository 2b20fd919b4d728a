package io.tollgate.limiter.api;

import io.grpc.Status;
import io.tollgate.limiter.metrics.LimiterMetrics.Outcome;
import io.tollgate.limiter.service.AdminException;
import io.tollgate.limiter.service.InvalidRequestException;
import io.tollgate.limiter.store.StoreUnavailableException;
import io.tollgate.limiter.persist.PersistenceException;
import java.util.concurrent.CompletionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The single mapping from failures to gRPC status: a bad request is {@code INVALID_ARGUMENT}
 * with the reason, a store outage {@code UNAVAILABLE}, anything else {@code INTERNAL}. A failure
 * is never turned into OK or OVER_LIMIT: Envoy's {@code failure_mode_deny} decides that.
 */
public final class StatusMapping {

  private static final Logger LOG = Logger.getLogger(StatusMapping.class.getName());

  private StatusMapping() {}

  /** Strips the wrappers that futures add. */
  public static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * The database failure somewhere in a failure's causes (Hazelcast wraps what a map store
   * throws), or {@code null}.
   */
  private static PersistenceException database(Throwable t) {
    for (int i = 0; t != null && i < 10; i++, t = t.getCause()) {
      if (t instanceof PersistenceException p) {
        return p;
      }
    }
    return null;
  }

  /** Logs a database failure in full (the caller sees only {@link #message}); true if it was. */
  public static boolean logIfDatabase(Throwable failure) {
    Throwable t = unwrap(failure);
    if (database(t) == null) {
      return false;
    }
    LOG.log(Level.WARNING, "database failure", t);
    return true;
  }

  /** What a caller is told of a database failure: not the SQL, which the log has. */
  private static final String DATABASE_FAILED =
      "the database did not take the change (see the server's log); nothing was changed";

  /** The gRPC status for a failure. */
  public static Status toStatus(Throwable failure) {
    Throwable t = unwrap(failure);
    if (logIfDatabase(t)) {
      return Status.UNAVAILABLE.withDescription(DATABASE_FAILED);
    }
    if (t instanceof InvalidRequestException) {
      return Status.INVALID_ARGUMENT.withDescription(t.getMessage());
    }
    if (t instanceof StoreUnavailableException) {
      return Status.UNAVAILABLE.withDescription(t.getMessage());
    }
    if (t instanceof AdminException a) {
      return (switch (a.kind()) {
        case INVALID -> Status.INVALID_ARGUMENT;
        case NOT_FOUND -> Status.NOT_FOUND;
        case CONFLICT -> Status.FAILED_PRECONDITION;
      }).withDescription(t.getMessage());
    }
    return Status.INTERNAL.withDescription(String.valueOf(t.getMessage())).withCause(t);
  }

  /** The message a caller may see for a failure (a database failure's SQL stays in the log). */
  public static String message(Throwable failure) {
    Throwable t = unwrap(failure);
    return database(t) != null ? DATABASE_FAILED : String.valueOf(t.getMessage());
  }

  /** The HTTP status for a failure: 400, 404, 409, 503 or 500. */
  public static int httpStatus(Throwable failure) {
    Throwable t = unwrap(failure);
    if (database(t) != null) {
      return 503;
    }
    if (t instanceof InvalidRequestException) {
      return 400;
    }
    if (t instanceof StoreUnavailableException) {
      return 503;
    }
    if (t instanceof AdminException a) {
      return switch (a.kind()) {
        case INVALID -> 400;
        case NOT_FOUND -> 404;
        case CONFLICT -> 409;
      };
    }
    return 500;
  }

  /** The metrics outcome for a failure. */
  public static Outcome outcome(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof InvalidRequestException) {
      return Outcome.INVALID_ARGUMENT;
    }
    if (t instanceof StoreUnavailableException) {
      return Outcome.UNAVAILABLE;
    }
    return Outcome.INTERNAL;
  }
}
