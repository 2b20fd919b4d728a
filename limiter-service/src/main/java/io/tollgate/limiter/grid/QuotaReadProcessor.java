package io.tollgate.limiter.grid;

import com.hazelcast.core.ReadOnly;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.algorithm.WallClock;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;

/**
 * Reads one key's calendar quota as it stands now on the key's owner, with the owner's clock. A key
 * never used (or expired) reads as nothing used. Read-only: it changes nothing, so Hazelcast
 * sends nothing to the backup.
 */
public final class QuotaReadProcessor
    implements EntryProcessor<String, LimitState, QuotaSnapshot>, ReadOnly,
        IdentifiedDataSerializable, ClockAware {

  private static final long serialVersionUID = 1L;

  private CalendarQuota quota;
  private transient WallClock clock = WallClock.SYSTEM;

  /** For deserialization. */
  public QuotaReadProcessor() {}

  QuotaReadProcessor(CalendarQuota quota) {
    this.quota = Objects.requireNonNull(quota, "quota");
  }

  @Override
  public void setClock(WallClock clock) {
    this.clock = clock;
  }

  @Override
  public QuotaSnapshot process(Map.Entry<String, LimitState> entry) {
    return quota.snapshot(entry.getValue(), clock.epochNanos());
  }

  @Override
  public EntryProcessor<String, LimitState, QuotaSnapshot> getBackupProcessor() {
    return null;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.QUOTA_READ;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    GridSerialization.writeAlgorithm(out, quota);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    quota = readQuota(in);
  }

  /** Reads an algorithm that must be a calendar quota. */
  static CalendarQuota readQuota(ObjectDataInput in) throws IOException {
    LimitAlgorithm algorithm = GridSerialization.readAlgorithm(in);
    if (algorithm instanceof CalendarQuota q) {
      return q;
    }
    throw new IOException("expected a calendar quota, got " + algorithm.kind());
  }
}
