package io.tollgate.limiter.grid;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.algorithm.LimitState;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes the state a primary computed onto the backup replica, with the same TTL. Carrying the
 * result rather than re-running the math keeps the replicas identical whatever their clocks say.
 */
public final class StateBackupProcessor<R>
    implements EntryProcessor<String, LimitState, R>, IdentifiedDataSerializable {

  private static final long serialVersionUID = 1L;

  private LimitState state;
  private long ttlMillis;

  /** For deserialization. */
  public StateBackupProcessor() {}

  StateBackupProcessor(LimitState state, long ttlMillis) {
    this.state = state;
    this.ttlMillis = ttlMillis;
  }

  @Override
  public R process(Map.Entry<String, LimitState> entry) {
    ((ExtendedMapEntry<String, LimitState>) entry).setValue(state, ttlMillis,
        TimeUnit.MILLISECONDS);
    return null;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.STATE_BACKUP;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    GridSerialization.writeState(out, state);
    out.writeLong(ttlMillis);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    state = GridSerialization.readState(in);
    ttlMillis = in.readLong();
  }
}
