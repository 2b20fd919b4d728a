package io.tollgate.loadtest;

import io.tollgate.loadtest.target.Target;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Waits until a target answers one request with a decision. */
@Command(name = "await", mixinStandardHelpOptions = true,
    description = "Wait until the target answers a request with a decision (exit 1 on timeout).")
final class AwaitCommand implements Callable<Integer> {

  /** Waits between probes; tests pass one that returns at once. */
  @FunctionalInterface
  interface Pause {
    void pause(long millis) throws InterruptedException;
  }

  @Mixin
  TargetOptions target = new TargetOptions();

  @Option(names = "--wait-seconds", defaultValue = "120", description = "give up after. Default: ${DEFAULT-VALUE}")
  int waitSeconds;

  @Override
  public Integer call() throws Exception {
    if (target.timeoutMillis > 2000) {
      target.timeoutMillis = 2000;
    }
    try (Target t = target.open()) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
      String failure = probeUntil(t, deadline, System::nanoTime, TimeUnit.SECONDS.toNanos(5),
          Thread::sleep);
      if (failure == null) {
        System.out.println("ready: " + t.describe());
        return 0;
      }
      System.err.println("not ready after " + waitSeconds + " s: " + t.describe() + ": " + failure);
      return 1;
    }
  }

  /**
   * Sends one probe after another until one gets a decision or {@code deadlineNanos} passes. A
   * probe that fails, or gets no answer within {@code probeWaitNanos} (a busy machine, a server
   * still starting), is one more failed try, not the end of the wait.
   *
   * @return {@code null} once a probe got a decision; otherwise why the last probe did not
   */
  static String probeUntil(Target t, long deadlineNanos, LongSupplier nanoTime,
      long probeWaitNanos, Pause pause) throws InterruptedException {
    String last = "no probe sent";
    while (nanoTime.getAsLong() < deadlineNanos) {
      CompletableFuture<String> answer = new CompletableFuture<>();
      t.send(new int[] {0}, (outcome, error) ->
          answer.complete(outcome == Target.Outcome.ERROR ? String.valueOf(error) : ""));
      try {
        last = answer.get(probeWaitNanos, TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        last = "no answer within " + TimeUnit.NANOSECONDS.toMillis(probeWaitNanos) + " ms";
      } catch (ExecutionException e) {
        last = String.valueOf(e.getCause());
      }
      if (last.isEmpty()) {
        return null;
      }
      pause.pause(200);
    }
    return last;
  }
}
