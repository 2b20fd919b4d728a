package io.tollgate.limiter.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for truly asynchronous events (a member joining, a file reload) by short polling. */
public final class Awaits {

  private Awaits() {}

  /** Polls {@code condition} every 50 ms until it holds; fails after {@code timeout}. */
  public static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        // not yet
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }
}
