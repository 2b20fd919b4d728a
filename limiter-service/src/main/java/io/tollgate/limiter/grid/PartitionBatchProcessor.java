package io.tollgate.limiter.grid;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.WallClock;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Applies the acquires, refunds and resets waiting for one partition, on its owner's partition
 * thread: one grid operation ({@link PartitionBatchOperation}) for every call that was waiting
 * for that partition. The operation hands this processor each distinct key of the batch once;
 * the processor runs that key's calls in the order they were made, each seeing the state the
 * previous one left, and answers them as one {@link BatchOutcome}. Calls on different keys are
 * independent, so the batch is exactly the calls run one after another.
 *
 * <p>The clock is read once per batch, on the first key. Only an allowed take of one or more
 * units, a refund that changed something, or a reset of a stored state changes the entry: it is
 * written once per key, with a TTL after which the state no longer matters, and the final state
 * of each changed key (not the calls) goes to the backup in a {@link PartitionBackupProcessor},
 * so replicas cannot drift apart when members' clocks differ.
 */
final class PartitionBatchProcessor
    implements EntryProcessor<String, LimitState, BatchOutcome>, IdentifiedDataSerializable,
        ClockAware {

  private static final long serialVersionUID = 1L;

  static final byte ACQUIRE = 0;
  static final byte REFUND = 1;
  static final byte RESET = 2;

  /** The distinct keys of the batch. */
  private String[] keys;
  /**
   * The calls of {@code keys[k]} are those from {@code firstCall[k]} (inclusive) to
   * {@code firstCall[k + 1]}; {@code firstCall.length == keys.length + 1}.
   */
  private int[] firstCall;
  private byte[] kinds;
  /** Per call; {@code null} for a reset. */
  private LimitAlgorithm[] algorithms;
  /** Units to take; used by acquires only. */
  private long[] permits;
  /** The decision to hand back; used by refunds only. */
  private Decision[] refunds;
  /**
   * Per call: the epoch nanosecond after which an acquire is dropped, not applied (the owner's
   * clock decides); {@link Long#MAX_VALUE} for none.
   */
  private long[] deadlines;

  private transient WallClock clock = WallClock.SYSTEM;
  private transient long nowNanos;
  private transient boolean timeRead;
  private transient HashMap<String, Integer> index;
  private transient String[] changedKeys;
  private transient LimitState[] changedStates;
  private transient long[] changedTtlMillis;
  private transient int changes;

  /** For deserialization. */
  public PartitionBatchProcessor() {}

  PartitionBatchProcessor(String[] keys, int[] firstCall, byte[] kinds,
      LimitAlgorithm[] algorithms, long[] permits, Decision[] refunds, long[] deadlines) {
    if (firstCall.length != keys.length + 1 || firstCall[keys.length] != kinds.length) {
      throw new IllegalArgumentException("firstCall does not match " + keys.length + " keys and "
          + kinds.length + " calls");
    }
    this.keys = keys;
    this.firstCall = firstCall;
    this.kinds = kinds;
    this.algorithms = algorithms;
    this.permits = permits;
    this.refunds = refunds;
    this.deadlines = deadlines;
  }

  @Override
  public void setClock(WallClock clock) {
    this.clock = clock;
  }

  /** How many distinct keys the batch touches. */
  int keyCount() {
    return keys.length;
  }

  @Override
  public BatchOutcome process(Map.Entry<String, LimitState> entry) {
    if (!timeRead) {
      nowNanos = clock.epochNanos();
      timeRead = true;
    }
    Integer k = index().get(entry.getKey());
    if (k == null) {
      return null;
    }
    long now = nowNanos;
    int from = firstCall[k];
    int n = firstCall[k + 1] - from;
    Decision[] decisions = new Decision[n];
    boolean[] refunded = new boolean[n];
    String[] errors = null;
    boolean[] expired = null;
    // Copy on write: with the OBJECT format the entry's value is the stored instance itself, and
    // a change must reach the store (and the backup) only through setValue.
    LimitState state = entry.getValue();
    boolean changed = false;
    long ttlMillis = 0;
    for (int j = 0; j < n; j++) {
      int i = from + j;
      try {
        switch (kinds[i]) {
          case ACQUIRE -> {
            if (deadlines[i] <= now) {
              if (expired == null) {
                expired = new boolean[n];
              }
              expired[j] = true;
              continue;
            }
            LimitState next = state == null ? new LimitState() : state.copy();
            Decision d = algorithms[i].tryAcquire(next, permits[i], now);
            decisions[j] = d;
            if (d.allowed() && permits[i] > 0) {
              state = next;
              changed = true;
              ttlMillis = AcquireProcessor.ttlMillis(algorithms[i].ttlNanos(next, now));
            }
          }
          case REFUND -> {
            if (state != null) {
              LimitState next = state.copy();
              if (algorithms[i].refund(next, refunds[i], now)) {
                state = next;
                changed = true;
                refunded[j] = true;
                ttlMillis = AcquireProcessor.ttlMillis(algorithms[i].ttlNanos(next, now));
              }
            }
          }
          case RESET -> {
            refunded[j] = state != null;
            if (state != null) {
              state = null;
              changed = true;
            }
          }
          default -> throw new IllegalStateException("unknown call kind " + kinds[i]);
        }
      } catch (RuntimeException e) {
        // One call that cannot be applied fails alone; the others of the batch still count.
        if (errors == null) {
          errors = new String[n];
        }
        errors[j] = String.valueOf(e.getMessage());
      }
    }
    if (changed) {
      if (state == null) {
        entry.setValue(null);
      } else {
        ((ExtendedMapEntry<String, LimitState>) entry).setValue(state, ttlMillis,
            TimeUnit.MILLISECONDS);
      }
      recordChange(entry.getKey(), state, ttlMillis);
    }
    return new BatchOutcome(decisions, refunded, errors, expired);
  }

  private HashMap<String, Integer> index() {
    if (index == null) {
      index = new HashMap<>(Math.max(4, (int) (keys.length / 0.75f) + 1));
      for (int k = 0; k < keys.length; k++) {
        index.put(keys[k], k);
      }
    }
    return index;
  }

  private void recordChange(String key, LimitState state, long ttlMillis) {
    if (changedKeys == null) {
      changedKeys = new String[keys.length];
      changedStates = new LimitState[keys.length];
      changedTtlMillis = new long[keys.length];
    }
    changedKeys[changes] = key;
    changedStates[changes] = state;
    changedTtlMillis[changes] = ttlMillis;
    changes++;
  }

  /** The changed keys' final states for the backup, or {@code null} when nothing changed. */
  @Override
  public EntryProcessor<String, LimitState, BatchOutcome> getBackupProcessor() {
    if (changes == 0) {
      return null;
    }
    return new PartitionBackupProcessor(Arrays.copyOf(changedKeys, changes),
        Arrays.copyOf(changedStates, changes), Arrays.copyOf(changedTtlMillis, changes));
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.PARTITION_BATCH;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeInt(keys.length);
    for (int k = 0; k < keys.length; k++) {
      out.writeString(keys[k]);
      out.writeInt(firstCall[k + 1] - firstCall[k]);
      for (int i = firstCall[k]; i < firstCall[k + 1]; i++) {
        out.writeByte(kinds[i]);
        switch (kinds[i]) {
          case ACQUIRE -> {
            GridSerialization.writeAlgorithm(out, algorithms[i]);
            out.writeLong(permits[i]);
            out.writeLong(deadlines[i]);
          }
          case REFUND -> {
            GridSerialization.writeAlgorithm(out, algorithms[i]);
            GridSerialization.writeDecision(out, refunds[i]);
          }
          case RESET -> { }
          default -> throw new IOException("unknown call kind " + kinds[i]);
        }
      }
    }
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    int keyCount = in.readInt();
    if (keyCount < 0) {
      throw new IOException("negative key count " + keyCount);
    }
    keys = new String[keyCount];
    firstCall = new int[keyCount + 1];
    int capacity = keyCount;
    kinds = new byte[capacity];
    algorithms = new LimitAlgorithm[capacity];
    permits = new long[capacity];
    refunds = new Decision[capacity];
    deadlines = new long[capacity];
    int calls = 0;
    for (int k = 0; k < keyCount; k++) {
      keys[k] = in.readString();
      int n = in.readInt();
      if (n <= 0) {
        throw new IOException("key " + k + " of a batch has " + n + " calls");
      }
      firstCall[k] = calls;
      if (calls + n > capacity) {
        capacity = Math.max(calls + n, capacity * 2);
        kinds = Arrays.copyOf(kinds, capacity);
        algorithms = Arrays.copyOf(algorithms, capacity);
        permits = Arrays.copyOf(permits, capacity);
        refunds = Arrays.copyOf(refunds, capacity);
        deadlines = Arrays.copyOf(deadlines, capacity);
      }
      for (int j = 0; j < n; j++, calls++) {
        byte kind = in.readByte();
        kinds[calls] = kind;
        deadlines[calls] = Long.MAX_VALUE;
        switch (kind) {
          case ACQUIRE -> {
            algorithms[calls] = GridSerialization.readAlgorithm(in);
            permits[calls] = in.readLong();
            deadlines[calls] = in.readLong();
          }
          case REFUND -> {
            algorithms[calls] = GridSerialization.readAlgorithm(in);
            refunds[calls] = GridSerialization.readDecision(in);
          }
          case RESET -> { }
          default -> throw new IOException("unknown call kind " + kind);
        }
      }
    }
    firstCall[keyCount] = calls;
  }
}
