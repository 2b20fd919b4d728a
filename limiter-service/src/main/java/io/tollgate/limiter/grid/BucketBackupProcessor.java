package io.tollgate.limiter.grid;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.algorithm.LimitState;
import java.io.IOException;
import java.util.Map;

/**
 * Writes the states a {@link BatchProcessor} produced onto the bucket's backup replica, in the
 * order they were produced (a key changed twice in one batch ends with its last state).
 */
final class BucketBackupProcessor
    implements EntryProcessor<Integer, CounterBucket, BatchOutcome>, IdentifiedDataSerializable {

  private static final long serialVersionUID = 1L;

  private String[] keys;
  private LimitState[] states;
  private long[] expiresAtMillis;

  /** For deserialization. */
  public BucketBackupProcessor() {}

  BucketBackupProcessor(String[] keys, LimitState[] states, long[] expiresAtMillis) {
    this.keys = keys;
    this.states = states;
    this.expiresAtMillis = expiresAtMillis;
  }

  @Override
  public BatchOutcome process(Map.Entry<Integer, CounterBucket> entry) {
    CounterBucket bucket = entry.getValue();
    if (bucket == null) {
      bucket = new CounterBucket();
    }
    for (int i = 0; i < keys.length; i++) {
      bucket.put(keys[i], states[i], expiresAtMillis[i]);
    }
    entry.setValue(bucket);
    return null;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.BUCKET_BACKUP;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeInt(keys.length);
    for (int i = 0; i < keys.length; i++) {
      out.writeString(keys[i]);
      GridSerialization.writeState(out, states[i]);
      out.writeLong(expiresAtMillis[i]);
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
    expiresAtMillis = new long[n];
    for (int i = 0; i < n; i++) {
      keys[i] = in.readString();
      states[i] = GridSerialization.readState(in);
      expiresAtMillis[i] = in.readLong();
    }
  }
}
