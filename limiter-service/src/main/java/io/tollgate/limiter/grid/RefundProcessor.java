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
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Gives back the permits of an allowed decision that the request did not use because another of
 * its limits denied it. Like {@link AcquireProcessor} it runs on the owner with the member's clock
 * and sends its result state to the backup.
 */
public final class RefundProcessor
    implements EntryProcessor<String, LimitState, Boolean>, IdentifiedDataSerializable,
        ClockAware {

  private static final long serialVersionUID = 1L;

  private LimitAlgorithm algorithm;
  private Decision decision;
  private transient WallClock clock = WallClock.SYSTEM;
  private transient StateBackupProcessor<Boolean> backup;

  /** For deserialization. */
  public RefundProcessor() {}

  RefundProcessor(LimitAlgorithm algorithm, Decision decision) {
    this.algorithm = algorithm;
    this.decision = decision;
  }

  @Override
  public void setClock(WallClock clock) {
    this.clock = clock;
  }

  @Override
  public Boolean process(Map.Entry<String, LimitState> entry) {
    LimitState stored = entry.getValue();
    if (stored == null) {
      return Boolean.FALSE;
    }
    LimitState state = stored.copy();
    long now = clock.epochNanos();
    if (!algorithm.refund(state, decision, now)) {
      return Boolean.FALSE;
    }
    long ttlMillis = AcquireProcessor.ttlMillis(algorithm.ttlNanos(state, now));
    ((ExtendedMapEntry<String, LimitState>) entry).setValue(state, ttlMillis,
        TimeUnit.MILLISECONDS);
    backup = new StateBackupProcessor<>(state, ttlMillis);
    return Boolean.TRUE;
  }

  @Override
  public EntryProcessor<String, LimitState, Boolean> getBackupProcessor() {
    return backup;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.REFUND;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    GridSerialization.writeAlgorithm(out, algorithm);
    GridSerialization.writeDecision(out, decision);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    algorithm = GridSerialization.readAlgorithm(in);
    decision = GridSerialization.readDecision(in);
  }
}
