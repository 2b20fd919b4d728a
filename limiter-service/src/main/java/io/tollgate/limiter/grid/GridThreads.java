package io.tollgate.limiter.grid;

import com.hazelcast.internal.util.executor.HazelcastManagedThread;
import com.hazelcast.spi.impl.operationexecutor.OperationHostileThread;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * Where grid operations may start. Hazelcast's own threads (partition, response, I/O) may not
 * start operations on other members; the stores complete callers' futures on those threads, and
 * callers' callbacks may call a store again, so such calls move to the sender threads.
 */
public final class GridThreads {

  /** Starts grid operations for calls made on Hazelcast's threads. */
  static final ExecutorService SENDER = Executors.newFixedThreadPool(
      Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
        Thread t = new Thread(r, "tollgate-grid-sender");
        t.setDaemon(true);
        return t;
      });

  /**
   * Runs the completions of grid futures that would otherwise run on Hazelcast's default async
   * executor: the common fork-join pool, or, when that pool has a parallelism of 1 (machines with
   * two cores or fewer), a new thread for every callback (measured on such a machine: a
   * standalone limiter near 1,500 decisions per second with a 40 ms median). Callbacks are short
   * (combining decisions, handing a response to gRPC), so a few threads suffice. Ours, passed to
   * the stores that need it: nothing JVM-wide is changed.
   */
  public static final Executor CALLBACKS = Executors.newFixedThreadPool(
      Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
        Thread t = new Thread(r, "tollgate-grid-callback");
        t.setDaemon(true);
        return t;
      });

  private GridThreads() {}

  /**
   * A stage that completes like {@code stage}, on {@code executor}: callbacks attached to it
   * without an executor of their own run there, never on Hazelcast's default executor.
   */
  public static <T> CompletionStage<T> completeOn(CompletionStage<T> stage, Executor executor) {
    CompletableFuture<T> out = new CompletableFuture<>();
    stage.whenCompleteAsync((value, failure) -> {
      if (failure != null) {
        out.completeExceptionally(failure);
      } else {
        out.complete(value);
      }
    }, executor);
    return out;
  }

  /**
   * Whether this is one of Hazelcast's own threads: its managed threads (partition, response,
   * I/O) and the operation-hostile ones, such as the invocation monitor that fails timed-out
   * calls.
   */
  public static boolean onGridThread() {
    Thread t = Thread.currentThread();
    return t instanceof HazelcastManagedThread || t instanceof OperationHostileThread;
  }

  /** Starts {@code operation} here, or from a sender thread when this is one of Hazelcast's. */
  public static <T> CompletionStage<T> start(Supplier<CompletionStage<T>> operation) {
    if (!onGridThread()) {
      return operation.get();
    }
    return CompletableFuture.supplyAsync(operation, SENDER).thenCompose(s -> s);
  }
}
