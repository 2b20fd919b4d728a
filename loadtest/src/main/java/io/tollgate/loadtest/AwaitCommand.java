package io.tollgate.loadtest;

import io.tollgate.loadtest.target.Target;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Waits until a target answers one request with a decision. */
@Command(name = "await", mixinStandardHelpOptions = true,
    description = "Wait until the target answers a request with a decision (exit 1 on timeout).")
final class AwaitCommand implements Callable<Integer> {

  @Mixin
  TargetOptions target = new TargetOptions();

  @Option(names = "--wait-seconds", defaultValue = "120", description = "give up after. Default: ${DEFAULT-VALUE}")
  int waitSeconds;

  @Override
  public Integer call() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
    String last = "";
    if (target.timeoutMillis > 2000) {
      target.timeoutMillis = 2000;
    }
    try (Target t = target.open()) {
      while (System.nanoTime() < deadline) {
        CompletableFuture<String> answer = new CompletableFuture<>();
        t.send(new int[] {0}, (outcome, error) ->
            answer.complete(outcome == Target.Outcome.ERROR ? error : ""));
        last = answer.get(5, TimeUnit.SECONDS);
        if (last.isEmpty()) {
          System.out.println("ready: " + t.describe());
          return 0;
        }
        Thread.sleep(200);
      }
      System.err.println("not ready after " + waitSeconds + " s: " + t.describe() + ": " + last);
      return 1;
    }
  }
}
