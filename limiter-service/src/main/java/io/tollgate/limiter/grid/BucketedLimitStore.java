package io.tollgate.limiter.grid;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.internal.serialization.Data;
import com.hazelcast.internal.serialization.SerializationService;
import com.hazelcast.map.impl.proxy.MapProxyImpl;
import com.hazelcast.spi.impl.InternalCompletableFuture;
import com.hazelcast.spi.impl.SerializationServiceSupport;
import com.hazelcast.map.IMap;
import com.hazelcast.partition.Partition;
import com.hazelcast.partition.PartitionService;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.StoreUnavailableException;
import java.util.ArrayList;
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
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Limit state in the {@value #BUCKETS_MAP} map, where one entry (a {@link CounterBucket}) holds
 * the states of every key that hashes to it, and calls that wait for the same bucket go to the
 * grid together.
 *
 * <h2>Batching</h2>
 * Each bucket has a lane with at most one grid operation in flight. A call to an idle lane is
 * sent at once, alone, so a lightly loaded limiter adds no wait; calls that arrive while the
 * lane's operation is in flight queue, and go as one {@link BatchProcessor} as soon as it
 * answers. The busier the limiter, the more decisions each grid operation carries: the cost of
 * an operation (invocation, hand-off to the partition thread, backup, answer) is paid per batch,
 * not per decision. The batch runs the calls one after another on the owner, so the result is
 * exactly that of the calls made one by one, each atomic.
 *
 * <p>Answers complete on the thread that receives the grid's answer: a partition thread for a local
 * bucket, a response thread for a remote one, or the caller's own when the grid answered at once.
 * Callers must attach only short, non-blocking callbacks; they may call this store again (a call
 * made on one of Hazelcast's threads is sent from the store's sender threads).
 *
 * <h2>Expiry and backups</h2>
 * Every state carries the time after which it is worthless (the algorithm's TTL plus a second);
 * an expired state reads as absent, and a sweep every {@value #SWEEP_SECONDS} seconds drops the
 * expired states of the buckets this member owns, and (with the same cut-off) of their backups.
 * The map has one synchronous backup, which receives the states a batch produced, not the calls.
 *
 * <h2>Deadlines and the loss of a member</h2>
 * Every acquire carries a deadline; one whose deadline has passed is dropped, not applied, before
 * it is sent or on the owner. A batch whose owner left (or was not the owner, or did not answer)
 * is sent again, keeping its place in the lane, to the partition's new owner while its calls have
 * time left. A batch whose backup did not acknowledge is answered with the owner's result (see
 * GridMember).
 */
public final class BucketedLimitStore implements LimitStore, AutoCloseable {

  /** The map of buckets. */
  public static final String BUCKETS_MAP = "tollgate-counter-buckets";

  /**
   * Buckets in the map. Every member must use the same number. Fewer buckets mean larger
   * batches; enough are needed to keep every member's partition threads busy.
   */
  static final int BUCKETS = 8;

  /** The most calls one grid operation carries. */
  static final int MAX_BATCH = 256;

  /**
   * The most calls a lane holds while its operation is in flight; beyond it, calls fail at once
   * rather than queue behind a grid that is not answering.
   */
  static final int MAX_QUEUED = 20_000;

  static final int SWEEP_SECONDS = 5;

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

  private static final Logger LOG = Logger.getLogger(BucketedLimitStore.class.getName());

  /** Runs a completion on the thread that completes the grid's future. */
  private static final Executor SAME_THREAD = Runnable::run;


  private final IMap<Integer, CounterBucket> buckets;
  /**
   * The same map as Hazelcast's own proxy, when it is one: its raw invocation completes on the
   * thread that receives the answer, where the public {@code submitToKey} would add a hand-off
   * to Hazelcast's callback executor for every operation.
   */
  private final MapProxyImpl<Integer, CounterBucket> proxy;
  private final SerializationService serialization;
  private final PartitionService partitions;
  private final WallClock clock;
  private final BucketStats stats;
  private final Lane[] lanes = new Lane[BUCKETS];
  /** The map key of each bucket: see {@link #bucketKeys}. */
  private final Integer[] keys;
  private final ScheduledExecutorService sweeper;
  /** Batches sent to the grid, for tests and diagnostics. */
  private final java.util.concurrent.atomic.LongAdder batchesSent =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder callsSent =
      new java.util.concurrent.atomic.LongAdder();
  /** Batches sent again after their owner left or did not answer. */
  private final java.util.concurrent.atomic.LongAdder retries =
      new java.util.concurrent.atomic.LongAdder();
  /** Acquires dropped, not applied, because their deadline passed before they ran. */
  private final java.util.concurrent.atomic.LongAdder expired =
      new java.util.concurrent.atomic.LongAdder();
  /** The time the caller has left, read on the caller's thread; see the constructor. */
  private final LongSupplier callerRemainingNanos;

  /**
   * Creates a store over the buckets map of a member configured by
   * {@link GridConfig#configure}, and starts its sweeper.
   */
  public BucketedLimitStore(HazelcastInstance member, WallClock clock) {
    this(member, clock, () -> NO_DEADLINE);
  }

  /**
   * Creates a store whose acquires carry a deadline: the sooner of
   * {@link #DEFAULT_CALL_TIMEOUT_NANOS} and what {@code callerRemainingNanos} answers on the
   * calling thread (e.g. the time left of the gRPC call being decided; {@link #NO_DEADLINE} when
   * there is none). An acquire whose deadline has passed before it runs on its owner is dropped,
   * not applied, and fails with {@link StoreUnavailableException}: nobody waits for its answer
   * any more, and counting it would only take units from later callers. Refunds carry no
   * deadline: a refund dropped would leave units counted.
   */
  public BucketedLimitStore(HazelcastInstance member, WallClock clock,
      LongSupplier callerRemainingNanos) {
    this.callerRemainingNanos = Objects.requireNonNull(callerRemainingNanos,
        "callerRemainingNanos");
    this.buckets = member.getMap(BUCKETS_MAP);
    if (buckets instanceof MapProxyImpl<Integer, CounterBucket> p
        && member instanceof SerializationServiceSupport support) {
      this.proxy = p;
      this.serialization = support.getSerializationService();
    } else {
      this.proxy = null;
      this.serialization = null;
    }
    this.partitions = member.getPartitionService();
    this.clock = Objects.requireNonNull(clock, "clock");
    BucketStats s = (BucketStats) member.getUserContext().get(BucketStats.class.getName());
    this.stats = s == null ? new BucketStats() : s;
    this.keys = bucketKeys(partitions, BUCKETS);
    for (int b = 0; b < BUCKETS; b++) {
      lanes[b] = new Lane(keys[b]);
    }
    sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "tollgate-counter-sweep");
      t.setDaemon(true);
      return t;
    });
    sweeper.scheduleWithFixedDelay(this::sweepOwned, SWEEP_SECONDS, SWEEP_SECONDS,
        TimeUnit.SECONDS);
  }

  /**
   * The map key of each bucket: the smallest integers whose partitions are spread evenly over the
   * partition table (partition ids {@code 0, s, 2s, ...} for an odd step {@code s}), so that the
   * buckets fall on different partitions and, on a member, on different partition threads.
   * Every member computes the same keys, since a key's partition depends only on the key and
   * the partition count.
   */
  static Integer[] bucketKeys(PartitionService partitions, int buckets) {
    int count = partitions.getPartitions().size();
    int step = Math.max(1, count / buckets);
    if (step % 2 == 0 && step > 1) {
      step--;
    }
    Integer[] keys = new Integer[buckets];
    java.util.Map<Integer, Integer> wanted = new java.util.HashMap<>();
    for (int b = 0; b < buckets; b++) {
      wanted.put((b * step) % count, b);
    }
    int found = 0;
    for (int n = 0; found < buckets && n < 10_000_000; n++) {
      Integer b = wanted.remove(partitions.getPartition(n).getPartitionId());
      if (b != null) {
        keys[b] = n;
        found++;
      }
    }
    if (found < buckets) {
      throw new IllegalStateException("no key found for every counter bucket");
    }
    return keys;
  }

  /** The bucket of a storage key. */
  static int bucketOf(String key) {
    int h = key.hashCode();
    h ^= h >>> 16;
    h *= 0x85EB_CA6B;
    h ^= h >>> 13;
    return h & (BUCKETS - 1);
  }

  @Override
  public CompletionStage<Decision> acquire(String key, LimitAlgorithm algorithm, long permits) {
    long remaining = Math.min(DEFAULT_CALL_TIMEOUT_NANOS, callerRemainingNanos.getAsLong());
    long deadline = clock.epochNanos() + Math.max(0, remaining);
    Call call = new Call(key, algorithm, permits, null, deadline);
    lanes[bucketOf(key)].add(call);
    return call.answer;
  }

  @Override
  public CompletionStage<Boolean> refund(String key, LimitAlgorithm algorithm, Decision decision) {
    Call call = new Call(key, algorithm, 0, Objects.requireNonNull(decision, "decision"),
        NO_DEADLINE);
    lanes[bucketOf(key)].add(call);
    return call.answer.thenApply(ignored -> call.refunded);
  }

  /**
   * Forgets the key's state: writes it as expired, which reads as absent and is dropped by the
   * next sweep. Sent straight to the bucket's owner, not through the lane: the state is replaced
   * on the owner and the same write runs on the backup (it reads no clock, so both end the same).
   * Calls queued in the lane meanwhile apply before or after it, each atomically.
   *
   * @return always {@code true}: the write does not tell whether the key had state
   */
  @Override
  public CompletionStage<Boolean> reset(String key) {
    BucketBackupProcessor forget = new BucketBackupProcessor(new String[] {key},
        new io.tollgate.limiter.algorithm.LimitState[] {new io.tollgate.limiter.algorithm
            .LimitState()}, new long[] {Long.MIN_VALUE});
    return GridThreads.completeOn(GridThreads.start(
        () -> buckets.submitToKey(keys[bucketOf(key)], forget)), GridThreads.CALLBACKS)
        .thenApply(ignored -> Boolean.TRUE);
  }

  /** Drops expired states from the buckets this member owns (and their backups) now. */
  void sweepOwned() {
    try {
      long now = Math.floorDiv(clock.epochNanos(), 1_000_000L);
      for (Integer key : keys) {
        if (ownedHere(key)) {
          buckets.submitToKey(key, new BucketSweepProcessor(now, false))
              .whenComplete((size, failure) -> {
                if (failure != null) {
                  LOG.log(Level.FINE, "counter sweep of bucket " + key + " failed", failure);
                }
              });
        }
      }
    } catch (RuntimeException e) {
      // The member may be shutting down or the cluster recovering; the next sweep tries again.
      LOG.log(Level.FINE, "counter sweep skipped", e);
    }
  }

  private boolean ownedHere(int bucketKey) {
    Partition p = partitions.getPartition(bucketKey);
    return p.getOwner() != null && p.getOwner().localMember();
  }

  /** Limit states whose bucket this member owns, as of the last sweep. */
  public long localOwnedEntries() {
    return stats.owned(this::ownedHere);
  }

  /** Limit states held in backups on this member, as of the last sweep. */
  public long localBackupEntries() {
    return stats.backups(this::ownedHere);
  }

  /** Grid operations sent with acquires and refunds since this store was created. */
  public long batchesSent() {
    return batchesSent.sum();
  }

  /** Acquires and refunds sent to the grid since this store was created. */
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
    sweeper.shutdownNow();
  }

  /** One acquire or refund waiting for its bucket. */
  private final class Call {
    final String key;
    final LimitAlgorithm algorithm;
    final long permits;
    final Decision refund;
    /** Epoch nanoseconds (store clock) after which the call is dropped, not applied. */
    final long deadlineNanos;
    /**
     * Epoch nanoseconds after which a failed batch holding the call is not sent again: its
     * deadline, and for a refund (which has none) {@link #DEFAULT_CALL_TIMEOUT_NANOS} after it
     * was made, so a grid that never recovers cannot hold a lane with retries forever.
     */
    final long retryUntilNanos;
    final CompletableFuture<Decision> answer = new CompletableFuture<>();
    /** For a refund: whether it changed the state; written before {@link #answer} completes. */
    boolean refunded;

    Call(String key, LimitAlgorithm algorithm, long permits, Decision refund,
        long deadlineNanos) {
      this.key = key;
      this.algorithm = algorithm;
      this.permits = permits;
      this.refund = refund;
      this.deadlineNanos = deadlineNanos;
      this.retryUntilNanos = refund == null ? deadlineNanos
          : clock.epochNanos() + DEFAULT_CALL_TIMEOUT_NANOS;
    }
  }

  /** The calls of one bucket; at most one grid operation in flight. */
  private final class Lane {
    private final Integer bucket;
    private final ConcurrentLinkedQueue<Call> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    /** Held by the one thread that may send the lane's next batch. */
    private final AtomicBoolean sending = new AtomicBoolean();
    /**
     * A batch to send again before any queued call, written and read only by the thread holding
     * the lane: the calls of a batch whose owner left keep their place ahead of later calls.
     */
    private Call[] resend;

    Lane(Integer bucketKey) {
      this.bucket = bucketKey;
    }

    void add(Call call) {
      // Refunds are never turned away: a refund refused would leave its units counted.
      if (call.refund == null && queued.get() >= MAX_QUEUED) {
        call.answer.completeExceptionally(new StoreUnavailableException(
            "more than " + MAX_QUEUED + " calls wait for one counter bucket; the grid is not "
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
    private void completed(Call[] batch, BatchOutcome outcome, Throwable failure) {
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
    private boolean scheduleRetry(Call[] batch) {
      long now = clock.epochNanos();
      long latest = Long.MIN_VALUE;
      for (Call c : batch) {
        latest = Math.max(latest, c.retryUntilNanos);
      }
      if (latest - now <= TimeUnit.MILLISECONDS.toNanos(RETRY_PAUSE_MILLIS)) {
        return false;
      }
      resend = batch;
      retries.increment();
      try {
        sweeper.schedule(() -> GridThreads.SENDER.execute(this::send), RETRY_PAUSE_MILLIS,
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
        Call[] batch = take();
        if (batch == null) {
          return;
        }
        batchesSent.increment();
        callsSent.add(batch.length);
        CompletableFuture<BatchOutcome> f;
        try {
          f = submit(bucket, processor(batch));
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
    private Call[] take() {
      Call[] again = resend;
      if (again != null) {
        resend = null;
        Call[] live = dropExpired(again, again.length);
        if (live.length > 0) {
          return live;
        }
      }
      for (;;) {
        ArrayList<Call> batch = null;
        Call c;
        while ((batch == null || batch.size() < MAX_BATCH) && (c = queue.poll()) != null) {
          if (batch == null) {
            batch = new ArrayList<>();
          }
          batch.add(c);
        }
        if (batch != null) {
          queued.addAndGet(-batch.size());
          Call[] live = dropExpired(batch.toArray(new Call[0]), batch.size());
          if (live.length == 0) {
            continue;
          }
          return live;
        }
        sending.set(false);
        // A call added after the poll but before the release found the lane held: take it.
        if (queue.isEmpty() || !sending.compareAndSet(false, true)) {
          return null;
        }
      }
    }

    /** The calls of {@code batch} with time left; the others fail here, unsent. */
    private Call[] dropExpired(Call[] batch, int n) {
      long now = clock.epochNanos();
      int live = 0;
      for (int i = 0; i < n; i++) {
        Call c = batch[i];
        if (c.refund == null && c.deadlineNanos <= now) {
          expired.increment();
          c.answer.completeExceptionally(new StoreUnavailableException(
              "the call's deadline passed before it reached the grid; not applied", null));
        } else {
          batch[live++] = c;
        }
      }
      return live == n ? batch : java.util.Arrays.copyOf(batch, live);
    }

    private BatchProcessor processor(Call[] batch) {
      int n = batch.length;
      String[] keys = new String[n];
      LimitAlgorithm[] algorithms = new LimitAlgorithm[n];
      long[] permits = new long[n];
      Decision[] refunds = new Decision[n];
      long[] deadlines = new long[n];
      for (int i = 0; i < n; i++) {
        deadlines[i] = batch[i].deadlineNanos;
        keys[i] = batch[i].key;
        algorithms[i] = batch[i].algorithm;
        permits[i] = batch[i].permits;
        refunds[i] = batch[i].refund;
      }
      return new BatchProcessor(keys, algorithms, permits, refunds, deadlines);
    }

    /** Answers every call of a batch, whatever happens to any one of them. */
    private void deliver(Call[] batch, BatchOutcome outcome, Throwable failure) {
      for (int i = 0; i < batch.length; i++) {
        Call call = batch[i];
        try {
          if (failure != null) {
            call.answer.completeExceptionally(failure);
          } else if (outcome.expired(i)) {
            expired.increment();
            call.answer.completeExceptionally(new StoreUnavailableException(
                "the call's deadline passed before it ran on its owner; not applied", null));
          } else if (outcome.error(i) != null) {
            call.answer.completeExceptionally(new StoreUnavailableException(
                "the limit could not be applied: " + outcome.error(i), null));
          } else if (call.refund != null) {
            call.refunded = outcome.refunded(i);
            call.answer.complete(null);
          } else {
            call.answer.complete(outcome.decision(i));
          }
        } catch (Throwable e) {
          LOG.log(Level.WARNING, "cannot answer a limit call", e);
          call.answer.completeExceptionally(e);
        }
      }
    }
  }

  /** Runs a batch on its bucket's owner; see {@link #proxy}. */
  private CompletableFuture<BatchOutcome> submit(Integer bucket, BatchProcessor processor) {
    if (proxy == null) {
      return buckets.submitToKey(bucket, processor).toCompletableFuture();
    }
    InternalCompletableFuture<Data> raw = proxy.executeOnKeyInternal(bucket, processor);
    CompletableFuture<BatchOutcome> outcome = new CompletableFuture<>();
    raw.whenCompleteAsync((data, failure) -> {
      if (failure != null) {
        outcome.completeExceptionally(failure);
        return;
      }
      try {
        Object o = serialization.toObject(data);
        if (o instanceof BatchOutcome b) {
          outcome.complete(b);
        } else {
          outcome.completeExceptionally(new IllegalStateException(
              "unexpected answer to a counter batch: " + (o == null ? null : o.getClass())));
        }
      } catch (RuntimeException e) {
        outcome.completeExceptionally(e);
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
