package io.tollgate.limiter.grid;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.internal.partition.IPartitionService;
import com.hazelcast.internal.serialization.Data;
import com.hazelcast.internal.serialization.SerializationService;
import com.hazelcast.map.IMap;
import com.hazelcast.map.LocalMapStats;
import com.hazelcast.map.impl.MapEntries;
import com.hazelcast.map.impl.MapService;
import com.hazelcast.map.impl.proxy.MapProxyImpl;
import com.hazelcast.spi.impl.InternalCompletableFuture;
import com.hazelcast.spi.impl.NodeEngine;
import com.hazelcast.spi.impl.operationservice.OperationService;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.StoreUnavailableException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Limit state in the {@value #COUNTERS_MAP} map, one small entry per key (a {@link LimitState},
 * tens of bytes), so the keys spread over every partition and so over every member, and a
 * partition that moves carries only its own keys. Calls waiting for the same partition go to the
 * grid together.
 *
 * <h2>Batching</h2>
 * Each partition has a lane with at most one grid operation in flight. A call to an idle lane is
 * sent at once, alone, so a lightly loaded limiter adds no wait; calls that arrive while the
 * lane's operation is in flight queue, and go as one {@link PartitionBatchOperation} (carrying a
 * {@link PartitionBatchProcessor}) as soon as it answers. The busier the limiter, the more
 * decisions each grid operation carries: the cost of an operation (invocation, hand-off to the
 * partition thread, backup, answer) is paid per batch, not per decision. On the owner the batch
 * runs each key's calls one after another, so the result is exactly that of the calls made one
 * by one, each atomic.
 *
 * <p>Answers complete on the thread that receives the grid's answer: a partition thread for a local
 * partition, a response thread for a remote one, or the caller's own when the grid answered at
 * once. Callers must attach only short, non-blocking callbacks; they may call this store again (a
 * call made on one of Hazelcast's threads is sent from the store's sender threads).
 *
 * <h2>Expiry and backups</h2>
 * Every write sets the entry's TTL: the time after which the state no longer matters (the
 * algorithm's TTL plus a second). Hazelcast removes expired entries from the owner and the backup
 * itself, entry by entry, so there is no sweep to run; an expired entry reads as absent. (The TTL
 * runs on the members' real time; the algorithms read the store's clock, and a stale state reads
 * as fresh to them anyway, so the TTL only reclaims memory.) The map has one synchronous backup,
 * which receives the states a batch produced, not the calls.
 *
 * <h2>Deadlines and the loss of a member</h2>
 * Every acquire carries a deadline; one whose deadline has passed is dropped, not applied, before
 * it is sent or on the owner. A batch whose owner left (or was not the owner, or did not answer)
 * is sent again, keeping its place in the lane, to the partition's new owner while its calls have
 * time left. A batch whose backup did not acknowledge is answered with the owner's result (see
 * GridMember).
 */
public final class PartitionedLimitStore implements LimitStore, AutoCloseable {

  /** The map of limit states, one entry per key. */
  public static final String COUNTERS_MAP = "tollgate-rule-counters";

  /** The most calls one grid operation carries. */
  static final int MAX_BATCH = 256;

  /**
   * The most calls a lane holds while its operation is in flight; beyond it, calls fail at once
   * rather than queue behind a grid that is not answering.
   */
  static final int MAX_QUEUED = 20_000;

  /**
   * How long an acquire may wait for the grid when its caller set no shorter deadline: longer
   * than the failure detection (10 s, see GridMember), so that a call whose owner crashed is
   * answered by the new owner instead of failing.
   */
  static final long DEFAULT_CALL_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(15);

  /** Pause before a batch whose owner left is sent again, to the partition's new owner. */
  static final long RETRY_PAUSE_MILLIS = 100;

  /** What a caller with no deadline of its own answers for the time it has left. */
  public static final long NO_DEADLINE = Long.MAX_VALUE;

  private static final Logger LOG = Logger.getLogger(PartitionedLimitStore.class.getName());

  /** Runs a completion on the thread that completes the grid's future. */
  private static final Executor SAME_THREAD = Runnable::run;

  private final IMap<String, LimitState> counters;
  private final SerializationService serialization;
  private final IPartitionService partitions;
  private final OperationService operations;
  private final WallClock clock;
  private final Lane[] lanes;
  /** Schedules batches sent again after their owner left. */
  private final ScheduledExecutorService retryTimer;
  private final LongAdder batchesSent = new LongAdder();
  private final LongAdder callsSent = new LongAdder();
  private final LongAdder retries = new LongAdder();
  private final LongAdder expired = new LongAdder();
  /** The time the caller has left, read on the caller's thread; see the constructor. */
  private final LongSupplier callerRemainingNanos;

  /**
   * Creates a store over the counters map of a member configured by
   * {@link GridConfig#configure}.
   */
  public PartitionedLimitStore(HazelcastInstance member, WallClock clock) {
    this(member, clock, () -> NO_DEADLINE);
  }

  /**
   * Creates a store whose acquires carry a deadline: the sooner of
   * {@link #DEFAULT_CALL_TIMEOUT_NANOS} and what {@code callerRemainingNanos} answers on the
   * calling thread (e.g. the time left of the gRPC call being decided; {@link #NO_DEADLINE} when
   * there is none). An acquire whose deadline has passed before it runs on its owner is dropped,
   * not applied, and fails with {@link StoreUnavailableException}: nobody waits for its answer
   * any more, and counting it would only take units from later callers. Refunds and resets carry
   * no deadline: a refund dropped would leave units counted.
   *
   * @throws IllegalArgumentException if {@code member} is not an embedded Hazelcast member
   */
  public PartitionedLimitStore(HazelcastInstance member, WallClock clock,
      LongSupplier callerRemainingNanos) {
    this.callerRemainingNanos = Objects.requireNonNull(callerRemainingNanos,
        "callerRemainingNanos");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.counters = member.getMap(COUNTERS_MAP);
    if (!(counters instanceof MapProxyImpl<String, LimitState> proxy)) {
      throw new IllegalArgumentException("not an embedded member's map: " + counters.getClass());
    }
    NodeEngine engine = proxy.getNodeEngine();
    this.serialization = engine.getSerializationService();
    this.partitions = engine.getPartitionService();
    this.operations = engine.getOperationService();
    this.lanes = new Lane[partitions.getPartitionCount()];
    for (int p = 0; p < lanes.length; p++) {
      lanes[p] = new Lane(p);
    }
    retryTimer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "tollgate-counter-retry");
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public CompletionStage<Decision> acquire(String key, LimitAlgorithm algorithm, long permits) {
    long remaining = Math.min(DEFAULT_CALL_TIMEOUT_NANOS, callerRemainingNanos.getAsLong());
    long deadline = clock.epochNanos() + Math.max(0, remaining);
    return enqueue(new Call(key, PartitionBatchProcessor.ACQUIRE,
        Objects.requireNonNull(algorithm, "algorithm"), permits, null, deadline));
  }

  @Override
  public CompletionStage<Boolean> refund(String key, LimitAlgorithm algorithm, Decision decision) {
    Call call = new Call(key, PartitionBatchProcessor.REFUND,
        Objects.requireNonNull(algorithm, "algorithm"), 0,
        Objects.requireNonNull(decision, "decision"), NO_DEADLINE);
    return enqueue(call).thenApply(ignored -> call.changed);
  }

  /**
   * Removes {@code key}'s state on its owner and backup: the next acquire sees a fresh limit.
   * Ordered with the key's other calls from this member; carries no deadline.
   *
   * @return whether there was a state to remove
   */
  @Override
  public CompletionStage<Boolean> reset(String key) {
    Call call = new Call(key, PartitionBatchProcessor.RESET, null, 0, null, NO_DEADLINE);
    return enqueue(call).thenApply(ignored -> call.changed);
  }

  private CompletableFuture<Decision> enqueue(Call call) {
    Data keyData;
    try {
      keyData = serialization.toData(Objects.requireNonNull(call.key, "key"));
    } catch (RuntimeException e) {
      call.answer.completeExceptionally(e);
      return call.answer;
    }
    call.keyData = keyData;
    lanes[partitions.getPartitionId(keyData)].add(call);
    return call.answer;
  }

  /** The partition of a key, as the grid computes it. */
  int partitionOf(String key) {
    return partitions.getPartitionId(serialization.toData(key));
  }

  /** Limit states whose primary is on this member. */
  public long localOwnedEntries() {
    LocalMapStats stats = counters.getLocalMapStats();
    return stats.getOwnedEntryCount();
  }

  /** Limit states held in backups on this member. */
  public long localBackupEntries() {
    return counters.getLocalMapStats().getBackupEntryCount();
  }

  /** Grid operations sent with acquires, refunds and resets since this store was created. */
  public long batchesSent() {
    return batchesSent.sum();
  }

  /** Acquires, refunds and resets sent to the grid since this store was created. */
  public long callsSent() {
    return callsSent.sum();
  }

  /** Batches sent again because their owner left or did not answer. */
  public long retries() {
    return retries.sum();
  }

  /** Acquires dropped, not applied, because their deadline passed before they ran. */
  public long expired() {
    return expired.sum();
  }

  @Override
  public void close() {
    retryTimer.shutdownNow();
  }

  /** One acquire, refund or reset waiting for its partition. */
  private final class Call {
    final String key;
    Data keyData;
    final byte kind;
    final LimitAlgorithm algorithm;
    final long permits;
    final Decision refund;
    /** Epoch nanoseconds (store clock) after which an acquire is dropped, not applied. */
    final long deadlineNanos;
    /**
     * Epoch nanoseconds after which a failed batch holding the call is not sent again: its
     * deadline, and for a refund or reset (which have none) {@link #DEFAULT_CALL_TIMEOUT_NANOS}
     * after it was made, so a grid that never recovers cannot hold a lane with retries forever.
     */
    final long retryUntilNanos;
    final CompletableFuture<Decision> answer = new CompletableFuture<>();
    /** For a refund or reset: whether it changed the state; written before {@link #answer}. */
    boolean changed;

    Call(String key, byte kind, LimitAlgorithm algorithm, long permits, Decision refund,
        long deadlineNanos) {
      this.key = key;
      this.kind = kind;
      this.algorithm = algorithm;
      this.permits = permits;
      this.refund = refund;
      this.deadlineNanos = deadlineNanos;
      this.retryUntilNanos = kind == PartitionBatchProcessor.ACQUIRE ? deadlineNanos
          : clock.epochNanos() + DEFAULT_CALL_TIMEOUT_NANOS;
    }

    boolean isAcquire() {
      return kind == PartitionBatchProcessor.ACQUIRE;
    }
  }

  /**
   * The calls of one batch grouped by key, in the order each key was first called; the calls of
   * a key keep their order.
   */
  private static final class Batch {
    final Call[] calls;
    /** The calls of key {@code k} are {@code calls[firstCall[k] .. firstCall[k + 1])}. */
    final int[] firstCall;
    final HashMap<Data, Integer> keyIndex;

    Batch(List<Call> pending) {
      LinkedHashMap<Data, List<Call>> byKey = new LinkedHashMap<>();
      for (Call c : pending) {
        byKey.computeIfAbsent(c.keyData, k -> new ArrayList<>(2)).add(c);
      }
      calls = new Call[pending.size()];
      firstCall = new int[byKey.size() + 1];
      keyIndex = new HashMap<>(Math.max(4, (int) (byKey.size() / 0.75f) + 1));
      int i = 0;
      int k = 0;
      for (java.util.Map.Entry<Data, List<Call>> e : byKey.entrySet()) {
        keyIndex.put(e.getKey(), k);
        firstCall[k++] = i;
        for (Call c : e.getValue()) {
          calls[i++] = c;
        }
      }
      firstCall[k] = i;
    }

    int keys() {
      return firstCall.length - 1;
    }

    PartitionBatchProcessor processor() {
      int n = calls.length;
      String[] keys = new String[keys()];
      byte[] kinds = new byte[n];
      LimitAlgorithm[] algorithms = new LimitAlgorithm[n];
      long[] permits = new long[n];
      Decision[] refunds = new Decision[n];
      long[] deadlines = new long[n];
      for (int k = 0; k < keys.length; k++) {
        keys[k] = calls[firstCall[k]].key;
      }
      for (int i = 0; i < n; i++) {
        Call c = calls[i];
        kinds[i] = c.kind;
        algorithms[i] = c.algorithm;
        permits[i] = c.permits;
        refunds[i] = c.refund;
        deadlines[i] = c.isAcquire() ? c.deadlineNanos : Long.MAX_VALUE;
      }
      return new PartitionBatchProcessor(keys, firstCall.clone(), kinds, algorithms, permits,
          refunds, deadlines);
    }

    java.util.Set<Data> keySet() {
      return new HashSet<>(keyIndex.keySet());
    }
  }

  /** The calls of one partition; at most one grid operation in flight. */
  private final class Lane {
    private final int partitionId;
    private final ConcurrentLinkedQueue<Call> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    /** Held by the one thread that may send the lane's next batch. */
    private final AtomicBoolean sending = new AtomicBoolean();
    /**
     * A batch to send again before any queued call, written and read only by the thread holding
     * the lane: the calls of a batch whose owner left keep their place ahead of later calls.
     */
    private List<Call> resend;

    Lane(int partitionId) {
      this.partitionId = partitionId;
    }

    void add(Call call) {
      // Refunds and resets are never turned away: a refund refused would leave its units counted.
      if (call.isAcquire() && queued.get() >= MAX_QUEUED) {
        call.answer.completeExceptionally(new StoreUnavailableException(
            "more than " + MAX_QUEUED + " calls wait for one counter partition; the grid is not "
                + "keeping up", null));
        return;
      }
      queued.incrementAndGet();
      queue.add(call);
      if (sending.compareAndSet(false, true)) {
        if (GridThreads.onGridThread()) {
          GridThreads.SENDER.execute(this::send);
        } else {
          send();
        }
      }
    }

    /**
     * Answers a batch's calls where the grid's answer arrived and goes on with the lane. On one
     * of Hazelcast's threads (which may not start operations on other members) the lane first
     * passes to a sender thread, so the next batch goes out while these answers are delivered.
     */
    private void completed(Batch batch, MapEntries outcome, Throwable failure) {
      if (failure != null && retryable(failure) && scheduleRetry(batch)) {
        return;
      }
      boolean gridThread = GridThreads.onGridThread();
      if (gridThread) {
        handOff();
      }
      try {
        deliver(batch, outcome, failure);
      } finally {
        if (!gridThread) {
          send();
        }
      }
    }

    /**
     * Sends {@code batch} again after a short pause, still holding the lane, unless none of its
     * calls has time left. Returns whether it will be sent again.
     */
    private boolean scheduleRetry(Batch batch) {
      long now = clock.epochNanos();
      long latest = Long.MIN_VALUE;
      for (Call c : batch.calls) {
        latest = Math.max(latest, c.retryUntilNanos);
      }
      if (latest - now <= TimeUnit.MILLISECONDS.toNanos(RETRY_PAUSE_MILLIS)) {
        return false;
      }
      resend = List.of(batch.calls);
      retries.increment();
      try {
        retryTimer.schedule(() -> GridThreads.SENDER.execute(this::send), RETRY_PAUSE_MILLIS,
            TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // The store is closing: answer the calls with the failure instead.
        resend = null;
        return false;
      }
      return true;
    }

    /** Passes the held lane to a sender thread if calls wait, else releases it. */
    private void handOff() {
      if (queue.isEmpty()) {
        sending.set(false);
        // A call added after the check but before the release found the lane held: send it.
        if (queue.isEmpty() || !sending.compareAndSet(false, true)) {
          return;
        }
      }
      GridThreads.SENDER.execute(this::send);
    }

    /** Sends batches while this thread holds the lane and the grid answers at once. */
    private void send() {
      for (;;) {
        Batch batch = take();
        if (batch == null) {
          return;
        }
        batchesSent.increment();
        callsSent.add(batch.calls.length);
        CompletableFuture<MapEntries> f;
        try {
          f = submit(partitionId, batch);
        } catch (Throwable e) {
          f = CompletableFuture.failedFuture(e);
        }
        if (f.isDone()) {
          Throwable failure = failureOf(f);
          if (failure != null && retryable(failure) && scheduleRetry(batch)) {
            return;
          }
          deliver(batch, failure == null ? f.join() : null, failure);
          continue;
        }
        f.whenCompleteAsync((outcome, failure) -> completed(batch, outcome, failure),
            SAME_THREAD);
        return;
      }
    }

    /** The next batch, or {@code null} after giving up the lane when nothing waits. */
    private Batch take() {
      List<Call> again = resend;
      if (again != null) {
        resend = null;
        List<Call> live = dropExpired(again);
        if (!live.isEmpty()) {
          return new Batch(live);
        }
      }
      for (;;) {
        ArrayList<Call> polled = null;
        Call c;
        while ((polled == null || polled.size() < MAX_BATCH) && (c = queue.poll()) != null) {
          if (polled == null) {
            polled = new ArrayList<>();
          }
          polled.add(c);
        }
        if (polled != null) {
          queued.addAndGet(-polled.size());
          List<Call> live = dropExpired(polled);
          if (live.isEmpty()) {
            continue;
          }
          return new Batch(live);
        }
        sending.set(false);
        // A call added after the poll but before the release found the lane held: take it.
        if (queue.isEmpty() || !sending.compareAndSet(false, true)) {
          return null;
        }
      }
    }

    /** The calls with time left; the others fail here, unsent. */
    private List<Call> dropExpired(List<Call> calls) {
      long now = clock.epochNanos();
      List<Call> live = new ArrayList<>(calls.size());
      for (Call c : calls) {
        if (c.isAcquire() && c.deadlineNanos <= now) {
          expired.increment();
          c.answer.completeExceptionally(new StoreUnavailableException(
              "the call's deadline passed before it reached the grid; not applied", null));
        } else {
          live.add(c);
        }
      }
      return live;
    }

    /** Answers every call of a batch, whatever happens to any one of them. */
    private void deliver(Batch batch, MapEntries entries, Throwable failure) {
      BatchOutcome[] byKey = new BatchOutcome[batch.keys()];
      Throwable broken = failure;
      if (broken == null) {
        try {
          for (int e = 0; e < entries.size(); e++) {
            Integer k = batch.keyIndex.get(entries.getKey(e));
            if (k != null) {
              byKey[k] = serialization.toObject(entries.getValue(e));
            }
          }
        } catch (RuntimeException e) {
          broken = e;
        }
      }
      for (int k = 0; k < byKey.length; k++) {
        BatchOutcome outcome = byKey[k];
        for (int i = batch.firstCall[k]; i < batch.firstCall[k + 1]; i++) {
          Call call = batch.calls[i];
          int j = i - batch.firstCall[k];
          try {
            if (broken != null) {
              call.answer.completeExceptionally(broken);
            } else if (outcome == null || j >= outcome.size()) {
              call.answer.completeExceptionally(new StoreUnavailableException(
                  "the grid answered a counter batch without this key's outcome", null));
            } else if (outcome.expired(j)) {
              expired.increment();
              call.answer.completeExceptionally(new StoreUnavailableException(
                  "the call's deadline passed before it ran on its owner; not applied", null));
            } else if (outcome.error(j) != null) {
              call.answer.completeExceptionally(new StoreUnavailableException(
                  "the limit could not be applied: " + outcome.error(j), null));
            } else if (!call.isAcquire()) {
              call.changed = outcome.refunded(j);
              call.answer.complete(null);
            } else {
              call.answer.complete(outcome.decision(j));
            }
          } catch (Throwable e) {
            LOG.log(Level.WARNING, "cannot answer a limit call", e);
            call.answer.completeExceptionally(e);
          }
        }
      }
    }
  }

  /**
   * Runs a batch on its partition's owner: a {@link PartitionBatchOperation} sent with the
   * member's operation service. Its raw invocation completes on the thread that receives the
   * answer, where the public {@code submitToKeys} would add a hand-off to Hazelcast's callback
   * executor and make only asynchronous backups.
   */
  private CompletableFuture<MapEntries> submit(int partitionId, Batch batch) {
    PartitionBatchOperation op = new PartitionBatchOperation(COUNTERS_MAP, batch.keySet(),
        batch.processor());
    InternalCompletableFuture<Object> raw = operations.invokeOnPartition(MapService.SERVICE_NAME,
        op, partitionId);
    CompletableFuture<MapEntries> outcome = new CompletableFuture<>();
    raw.whenCompleteAsync((answer, failure) -> {
      if (failure != null) {
        outcome.completeExceptionally(failure);
      } else if (answer instanceof MapEntries entries) {
        outcome.complete(entries);
      } else {
        Object o;
        try {
          o = answer instanceof Data d ? serialization.toObject(d) : answer;
        } catch (RuntimeException e) {
          outcome.completeExceptionally(e);
          return;
        }
        if (o instanceof MapEntries entries) {
          outcome.complete(entries);
        } else {
          outcome.completeExceptionally(new IllegalStateException(
              "unexpected answer to a counter batch: " + (o == null ? null : o.getClass())));
        }
      }
    }, SAME_THREAD);
    return outcome;
  }

  /**
   * Whether a batch that failed this way can be sent again: its owner left or was not (or no
   * longer) the partition's owner, or did not answer in time. The batch may have run on the old
   * owner before it died, with its result kept by the backup that is now the owner; running it
   * again then counts its units twice, which can deny a later call but never admits one too
   * many.
   */
  static boolean retryable(Throwable failure) {
    Throwable t = failure;
    for (int depth = 0; t != null && depth < 5; depth++, t = t.getCause()) {
      if (t instanceof com.hazelcast.core.MemberLeftException
          || t instanceof com.hazelcast.spi.exception.TargetNotMemberException
          || t instanceof com.hazelcast.spi.exception.RetryableHazelcastException
          || t instanceof com.hazelcast.core.OperationTimeoutException
          || t instanceof com.hazelcast.core.IndeterminateOperationStateException) {
        return true;
      }
    }
    return false;
  }

  private static Throwable failureOf(CompletableFuture<?> f) {
    try {
      f.join();
      return null;
    } catch (java.util.concurrent.CompletionException e) {
      return e.getCause() == null ? e : e.getCause();
    } catch (java.util.concurrent.CancellationException e) {
      return e;
    }
  }
}
