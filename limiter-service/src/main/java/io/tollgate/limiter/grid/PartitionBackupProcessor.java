package io.tollgate.limiter.grid;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.algorithm.LimitState;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes the final states a {@link PartitionBatchProcessor} produced onto the partition's backup
 * replica, with their TTLs; a {@code null} state removes the key (a reset). Hazelcast hands it
 * every key of the batch; keys that did not change are left alone.
 */
final class PartitionBackupProcessor
    implements EntryProcessor<String, LimitState, BatchOutcome>, IdentifiedDataSerializable {

  private static final long serialVersionUID = 1L;

  private String[] keys;
  /** The state to store, or {@code null} to remove the key. */
  private LimitState[] states;
  private long[] ttlMillis;
  private transient HashMap<String, Integer> index;

  /** For deserialization. */
  public PartitionBackupProcessor() {}

  PartitionBackupProcessor(String[] keys, LimitState[] states, long[] ttlMillis) {
    this.keys = keys;
    this.states = states;
    this.ttlMillis = ttlMillis;
  }

  @Override
  public BatchOutcome process(Map.Entry<String, LimitState> entry) {
    if (index == null) {
      index = new HashMap<>(Math.max(4, (int) (keys.length / 0.75f) + 1));
      for (int k = 0; k < keys.length; k++) {
        index.put(keys[k], k);
      }
    }
    Integer k = index.get(entry.getKey());
    if (k == null) {
      return null;
    }
    if (states[k] == null) {
      entry.setValue(null);
    } else {
      // Stored states are never changed in place, so the backup can carry this instance.
      ((ExtendedMapEntry<String, LimitState>) entry).setValue(states[k], ttlMillis[k],
          TimeUnit.MILLISECONDS);
    }
    return null;
  }

  @Override
  public EntryProcessor<String, LimitState, BatchOutcome> getBackupProcessor() {
    return null;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.PARTITION_BACKUP;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeInt(keys.length);
    for (int k = 0; k < keys.length; k++) {
      out.writeString(keys[k]);
      boolean present = states[k] != null;
      out.writeBoolean(present);
      if (present) {
        GridSerialization.writeState(out, states[k]);
        out.writeLong(ttlMillis[k]);
      }
    }
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative change count " + n);
    }
    keys = new String[n];
    states = new LimitState[n];
    ttlMillis = new long[n];
    for (int k = 0; k < n; k++) {
      keys[k] = in.readString();
      if (in.readBoolean()) {
        states[k] = GridSerialization.readState(in);
        ttlMillis[k] = in.readLong();
      }
    }
  }
}
