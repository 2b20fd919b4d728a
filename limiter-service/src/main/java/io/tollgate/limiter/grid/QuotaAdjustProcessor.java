package io.tollgate.limiter.grid;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.algorithm.WallClock;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * An operator's change to one key's calendar quota, on the partition thread of the key's owner:
 * a grant (what remains of the current period is set, possibly above the limit) or a reset (the
 * current period's count goes to zero). Usage days are kept.
 *
 * <p>Like {@link AcquireProcessor} it changes a copy of the stored state with the member's clock,
 * stores it with a TTL from {@link CalendarQuota#ttlNanos}, and sends the resulting state to the
 * backup. It always writes, even to a key never used, so that a grant made before the first
 * request holds.
 */
public final class QuotaAdjustProcessor
    implements EntryProcessor<String, LimitState, QuotaSnapshot>, IdentifiedDataSerializable,
        ClockAware {

  private static final long serialVersionUID = 1L;

  private CalendarQuota quota;
  private boolean reset;
  private long remaining;
  private transient WallClock clock = WallClock.SYSTEM;
  private transient StateBackupProcessor<QuotaSnapshot> backup;

  /** For deserialization. */
  public QuotaAdjustProcessor() {}

  private QuotaAdjustProcessor(CalendarQuota quota, boolean reset, long remaining) {
    this.quota = Objects.requireNonNull(quota, "quota");
    this.reset = reset;
    this.remaining = remaining;
  }

  /**
   * Sets what remains of the current period to {@code remaining}.
   *
   * @throws IllegalArgumentException if {@code remaining} is negative
   */
  static QuotaAdjustProcessor grant(CalendarQuota quota, long remaining) {
    if (remaining < 0) {
      throw new IllegalArgumentException("remaining must be >= 0, was " + remaining);
    }
    return new QuotaAdjustProcessor(quota, false, remaining);
  }

  /** Sets the current period's count to zero. */
  static QuotaAdjustProcessor reset(CalendarQuota quota) {
    return new QuotaAdjustProcessor(quota, true, 0);
  }

  @Override
  public void setClock(WallClock clock) {
    this.clock = clock;
  }

  @Override
  public QuotaSnapshot process(Map.Entry<String, LimitState> entry) {
    long now = clock.epochNanos();
    LimitState stored = entry.getValue();
    // Copy on write: with the OBJECT format the entry's value is the stored instance itself.
    LimitState state = stored == null ? new LimitState() : stored.copy();
    if (reset) {
      quota.reset(state, now);
    } else {
      quota.setRemaining(state, remaining, now);
    }
    long ttlMillis = AcquireProcessor.ttlMillis(quota.ttlNanos(state, now));
    ((ExtendedMapEntry<String, LimitState>) entry).setValue(state, ttlMillis,
        TimeUnit.MILLISECONDS);
    backup = new StateBackupProcessor<>(state, ttlMillis);
    return quota.snapshot(state, now);
  }

  @Override
  public EntryProcessor<String, LimitState, QuotaSnapshot> getBackupProcessor() {
    return backup;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.QUOTA_ADJUST;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    GridSerialization.writeAlgorithm(out, quota);
    out.writeBoolean(reset);
    out.writeLong(remaining);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    quota = QuotaReadProcessor.readQuota(in);
    reset = in.readBoolean();
    remaining = in.readLong();
  }
}
