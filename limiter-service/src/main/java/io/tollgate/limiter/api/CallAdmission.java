package io.tollgate.limiter.api;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The gRPC call pool and its admission: a fixed pool of threads with at most {@code maxQueued}
 * tasks waiting; a call that arrives while the queue is full is answered
 * {@code RESOURCE_EXHAUSTED} at once and costs no pool thread.
 *
 * <p>Decisions skip the pool. The methods named as non-blocking (Envoy's
 * {@code ShouldRateLimit}, the plan {@code Check}) only match rules in memory and hand their
 * counters to the grid, so they run on the transport thread that read them: no queue, no
 * wake-up of a pool thread (at a steady few thousand calls a second that hand-off cost more CPU
 * than the rest of the handler), and they are answered even while the pool is busy or its queue
 * is full. Their number in flight is bounded by the connection's stream limit and the grid's
 * per-partition queues, as it already was once a pool thread had handed them to the grid.
 *
 * <p>Implementation notes. The server runs with grpc-java's direct executor and this class as its
 * {@link ServerCallExecutorSupplier}: grpc-java asks for each call's executor on the transport
 * thread before anything of the call is queued. An admitted call gets the pool. A refused call gets
 * the transport thread itself, with a marker in its headers that {@link #interceptor()} (the
 * outermost interceptor) turns into the status; the marker a client might send is removed first,
 * so a client cannot refuse another's call and gains nothing by sending it. The queue itself is
 * unbounded: the check and the enqueue are not atomic, so a burst may pass the bound by a few
 * tasks, but the pool never rejects a task, which grpc-java would turn into a reset stream
 * instead of a status. Messages of admitted streaming calls (RLQS reports) are not checked again.
 * {@code ServerCallExecutorSupplier} is marked experimental in grpc-java.
 */
public final class CallAdmission implements ServerCallExecutorSupplier, AutoCloseable {

  private static final Metadata.Key<String> REFUSED =
      Metadata.Key.of("x-tollgate-internal-refused", Metadata.ASCII_STRING_MARSHALLER);
  private static final Executor TRANSPORT_THREAD = Runnable::run;

  private final ThreadPoolExecutor pool;
  private final int maxQueued;
  private final Set<String> nonBlocking;
  private final AtomicLong refused = new AtomicLong();

  /**
   * @param threads pool threads
   * @param maxQueued tasks that may wait for a thread before calls are refused
   */
  public CallAdmission(int threads, int maxQueued) {
    this(threads, maxQueued, Set.of());
  }

  /**
   * @param threads pool threads
   * @param maxQueued tasks that may wait for a thread before calls are refused
   * @param nonBlocking full names of methods whose handlers never block (they only hand work to
   *     other threads and return): run on the transport thread, never queued nor refused here
   */
  public CallAdmission(int threads, int maxQueued, Set<String> nonBlocking) {
    this.maxQueued = maxQueued;
    this.nonBlocking = Set.copyOf(nonBlocking);
    this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "tollgate-grpc");
          t.setDaemon(true);
          return t;
        });
  }

  @Override
  public <Q, R> Executor getExecutor(ServerCall<Q, R> call, Metadata headers) {
    headers.discardAll(REFUSED);
    if (nonBlocking.contains(call.getMethodDescriptor().getFullMethodName())) {
      return TRANSPORT_THREAD;
    }
    if (pool.getQueue().size() >= maxQueued) {
      headers.put(REFUSED, "1");
      return TRANSPORT_THREAD;
    }
    return pool;
  }

  /** Refuses the calls {@link #getExecutor} did not admit; install as the outermost interceptor. */
  public ServerInterceptor interceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        if (headers.containsKey(REFUSED)) {
          headers.discardAll(REFUSED);
          refused.incrementAndGet();
          call.close(Status.RESOURCE_EXHAUSTED.withDescription("the limiter is overloaded: "
              + maxQueued + " calls are waiting; retry later"), new Metadata());
          return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
      }
    };
  }

  /** Tasks waiting for a pool thread now. */
  public int queuedTasks() {
    return pool.getQueue().size();
  }

  /** Calls refused so far. */
  public long refusedCalls() {
    return refused.get();
  }

  /** The pool, for shutdown. */
  public ExecutorService pool() {
    return pool;
  }

  @Override
  public void close() {
    pool.shutdown();
  }
}
