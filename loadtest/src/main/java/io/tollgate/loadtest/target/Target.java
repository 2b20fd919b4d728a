package io.tollgate.loadtest.target;

/**
 * What the generator drives: one request per {@link #send} call, answered asynchronously. A
 * target never blocks the caller for the round trip.
 */
public interface Target extends AutoCloseable {

  /** How a request ended. */
  enum Outcome {
    /** A decision to let the request through. */
    ALLOWED,
    /** A decision to refuse it (over a limit). */
    DENIED,
    /** No decision: a failed call, a timeout, an unexpected answer. */
    ERROR
  }

  /** Receives a request's outcome, exactly once. */
  @FunctionalInterface
  interface Callback {
    /** @param error why, for {@link Outcome#ERROR}; otherwise {@code null} */
    void done(Outcome outcome, String error);
  }

  /**
   * Sends one request.
   *
   * @param keys one key index per descriptor (targets with one key per request use the first)
   */
  void send(int[] keys, Callback callback);

  /** What this target sends to, for reports. */
  String describe();

  @Override
  void close();
}
