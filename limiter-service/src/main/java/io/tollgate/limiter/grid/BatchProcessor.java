package io.tollgate.limiter.grid;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.WallClock;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;

/**
 * Applies a batch of acquires and refunds, on keys of one bucket, in order, on the partition
 * thread of the bucket's owner: one grid operation for every decision that was waiting for that
 * bucket. Each step sees the state the previous ones left, so the batch is exactly the calls run
 * one after another.
 *
 * <p>The clock is read once per batch. As with one call per key, only an allowed take of one or
 * more units, or a refund that changed something, is stored; the changed states (not the calls)
 * go to the backup, so replicas cannot drift apart when members' clocks differ.
 */
final class BatchProcessor
    implements EntryProcessor<Integer, CounterBucket, BatchOutcome>, IdentifiedDataSerializable,
        ClockAware {

  private static final long serialVersionUID = 1L;

  private String[] keys;
  private LimitAlgorithm[] algorithms;
  /** Units to take; unused for a refund. */
  private long[] permits;
  /** The decision to hand back, or {@code null} for an acquire. */
  private Decision[] refunds;
  /**
   * Per call: the epoch nanosecond after which it is dropped, not applied (the owner's clock
   * decides); {@link Long#MAX_VALUE} for none.
   */
  private long[] deadlines;
  private transient WallClock clock = WallClock.SYSTEM;
  private transient BucketBackupProcessor backup;

  /** For deserialization. */
  public BatchProcessor() {}

  /** A batch whose calls have no deadline. */
  BatchProcessor(String[] keys, LimitAlgorithm[] algorithms, long[] permits, Decision[] refunds) {
    this(keys, algorithms, permits, refunds, noDeadlines(keys.length));
  }

  private static long[] noDeadlines(int n) {
    long[] d = new long[n];
    Arrays.fill(d, Long.MAX_VALUE);
    return d;
  }

  BatchProcessor(String[] keys, LimitAlgorithm[] algorithms, long[] permits, Decision[] refunds,
      long[] deadlines) {
    this.keys = keys;
    this.algorithms = algorithms;
    this.permits = permits;
    this.refunds = refunds;
    this.deadlines = deadlines;
  }

  @Override
  public void setClock(WallClock clock) {
    this.clock = clock;
  }

  @Override
  public BatchOutcome process(Map.Entry<Integer, CounterBucket> entry) {
    long now = clock.epochNanos();
    long nowMillis = Math.floorDiv(now, 1_000_000L);
    CounterBucket bucket = entry.getValue();
    if (bucket == null) {
      bucket = new CounterBucket();
    }
    int n = keys.length;
    Decision[] decisions = new Decision[n];
    boolean[] refunded = new boolean[n];
    String[] changedKeys = null;
    LimitState[] changedStates = null;
    long[] changedExpiry = null;
    String[] errors = null;
    boolean[] expired = null;
    int changes = 0;
    for (int i = 0; i < n; i++) {
      LimitAlgorithm algorithm = algorithms[i];
      if (refunds[i] == null && deadlines[i] <= now) {
        if (expired == null) {
          expired = new boolean[n];
        }
        expired[i] = true;
        continue;
      }
      LimitState state;
      try {
        state = apply(bucket, i, now, nowMillis, decisions, refunded);
      } catch (RuntimeException e) {
        // One call that cannot be applied fails alone; the others of the batch still count.
        if (errors == null) {
          errors = new String[n];
        }
        errors[i] = String.valueOf(e.getMessage());
        continue;
      }
      if (state == null) {
        continue;
      }
      long expiresAt = nowMillis + AcquireProcessor.ttlMillis(algorithm.ttlNanos(state, now));
      bucket.put(keys[i], state, expiresAt);
      if (changedKeys == null) {
        changedKeys = new String[n - i];
        changedStates = new LimitState[n - i];
        changedExpiry = new long[n - i];
      }
      changedKeys[changes] = keys[i];
      changedStates[changes] = state;
      changedExpiry[changes] = expiresAt;
      changes++;
    }
    if (changes > 0) {
      entry.setValue(bucket);
      backup = new BucketBackupProcessor(Arrays.copyOf(changedKeys, changes),
          Arrays.copyOf(changedStates, changes), Arrays.copyOf(changedExpiry, changes));
    }
    return new BatchOutcome(decisions, refunded, errors, expired);
  }

  /**
   * Applies call {@code i} to a copy of its state; returns the copy when it is to be stored,
   * {@code null} when nothing changed.
   */
  private LimitState apply(CounterBucket bucket, int i, long now, long nowMillis,
      Decision[] decisions, boolean[] refunded) {
    LimitAlgorithm algorithm = algorithms[i];
    LimitState stored = bucket.live(keys[i], nowMillis);
    if (refunds[i] != null) {
      if (stored == null) {
        return null;
      }
      LimitState state = stored.copy();
      if (!algorithm.refund(state, refunds[i], now)) {
        return null;
      }
      refunded[i] = true;
      return state;
    }
    LimitState state = stored == null ? new LimitState() : stored.copy();
    Decision d = algorithm.tryAcquire(state, permits[i], now);
    decisions[i] = d;
    return d.allowed() && permits[i] > 0 ? state : null;
  }

  @Override
  public EntryProcessor<Integer, CounterBucket, BatchOutcome> getBackupProcessor() {
    return backup;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.BATCH;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeInt(keys.length);
    for (int i = 0; i < keys.length; i++) {
      out.writeString(keys[i]);
      GridSerialization.writeAlgorithm(out, algorithms[i]);
      boolean refund = refunds[i] != null;
      out.writeBoolean(refund);
      if (refund) {
        GridSerialization.writeDecision(out, refunds[i]);
      } else {
        out.writeLong(permits[i]);
        out.writeLong(deadlines[i]);
      }
    }
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative batch size " + n);
    }
    keys = new String[n];
    algorithms = new LimitAlgorithm[n];
    permits = new long[n];
    refunds = new Decision[n];
    deadlines = new long[n];
    for (int i = 0; i < n; i++) {
      keys[i] = in.readString();
      algorithms[i] = GridSerialization.readAlgorithm(in);
      if (in.readBoolean()) {
        refunds[i] = GridSerialization.readDecision(in);
        deadlines[i] = Long.MAX_VALUE;
      } else {
        permits[i] = in.readLong();
        deadlines[i] = in.readLong();
      }
    }
  }
}
