package io.tollgate.limiter.api;

import io.grpc.Status;
import io.tollgate.limiter.metrics.LimiterMetrics.Outcome;
import io.tollgate.limiter.service.AdminException;
import io.tollgate.limiter.service.InvalidRequestException;
import io.tollgate.limiter.store.StoreUnavailableException;
import java.util.concurrent.CompletionException;

/**
 * The single mapping from failures to gRPC status: a bad request is {@code INVALID_ARGUMENT}
 * with the reason, a store outage {@code UNAVAILABLE}, anything else {@code INTERNAL}. A failure
 * is never turned into OK or OVER_LIMIT: Envoy's {@code failure_mode_deny} decides that.
 */
public final class StatusMapping {

  private StatusMapping() {}

  /** Strips the wrappers that futures add. */
  public static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** The gRPC status for a failure. */
  public static Status toStatus(Throwable failure) {
    Throwable t = unwrap(failure);
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

  /** The HTTP status for a failure: 400, 404, 409, 503 or 500. */
  public static int httpStatus(Throwable failure) {
    Throwable t = unwrap(failure);
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
