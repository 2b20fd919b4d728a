package io.tollgate.limiter.grid;

import com.hazelcast.internal.serialization.Data;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.impl.operation.MultipleEntryOperation;
import java.util.Set;

/**
 * Hazelcast's operation that runs an entry processor on several keys of one partition, with the
 * map's backups made <em>synchronously</em>. Hazelcast's own {@code MultipleEntryOperation} (what
 * {@code IMap.submitToKeys} sends) reports every backup of the map as asynchronous (5.7.0:
 * {@code getSyncBackupCount()} answers 0), so its answer can arrive before the backup holds the
 * change and a {@code kill -9} of the owner right after would lose an answered decision. This
 * subclass reports the map's configured counts instead, so the caller is answered only once the
 * backup acknowledged (or the backup timeout passed; see GridMember). Everything else, including
 * the backup operation (Hazelcast's {@code MultipleEntryBackupOperation} with the processor's
 * backup processor), is Hazelcast's.
 *
 * <p>Sent with the node engine's operation service to the partition's owner; serialized through
 * {@link GridSerialization}'s factory, so every member must run a release that has this class.
 */
final class PartitionBatchOperation extends MultipleEntryOperation {

  /** For deserialization. */
  public PartitionBatchOperation() {}

  PartitionBatchOperation(String mapName, Set<Data> keys,
      EntryProcessor<?, ?, ?> processor) {
    super(mapName, keys, processor);
  }

  @Override
  public int getSyncBackupCount() {
    return mapContainer.getBackupCount();
  }

  @Override
  public int getAsyncBackupCount() {
    return mapContainer.getAsyncBackupCount();
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.PARTITION_BATCH_OPERATION;
  }
}
