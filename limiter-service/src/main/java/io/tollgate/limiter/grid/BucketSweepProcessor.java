package io.tollgate.limiter.grid;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.Map;

/**
 * Drops a bucket's expired states and answers how many remain. The owner's cut-off time goes to
 * the backup with the same processor, so both replicas drop the same states.
 */
final class BucketSweepProcessor
    implements EntryProcessor<Integer, CounterBucket, Integer>, IdentifiedDataSerializable,
        BucketStats.Aware {

  private static final long serialVersionUID = 1L;

  private long nowMillis;
  private boolean backup;
  private transient BucketStats stats;

  /** For deserialization. */
  public BucketSweepProcessor() {}

  BucketSweepProcessor(long nowMillis, boolean backup) {
    this.nowMillis = nowMillis;
    this.backup = backup;
  }

  @Override
  public void setBucketStats(BucketStats stats) {
    this.stats = stats;
  }

  @Override
  public Integer process(Map.Entry<Integer, CounterBucket> entry) {
    CounterBucket bucket = entry.getValue();
    int after = 0;
    if (bucket != null) {
      int before = bucket.size();
      after = bucket.sweep(nowMillis);
      if (after != before) {
        entry.setValue(bucket);
      }
    }
    if (stats != null) {
      stats.record(entry.getKey(), after, backup);
    }
    return after;
  }

  @Override
  public EntryProcessor<Integer, CounterBucket, Integer> getBackupProcessor() {
    return backup ? null : new BucketSweepProcessor(nowMillis, true);
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.BUCKET_SWEEP;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeLong(nowMillis);
    out.writeBoolean(backup);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    nowMillis = in.readLong();
    backup = in.readBoolean();
  }
}
