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
 * Takes permits from one key's limit, on the partition thread of the key's owner.
 *
 * <p>Runs the algorithm on a copy of the stored state with the member's clock, read once. Only an
 * allowed take of one or more units is stored (with a TTL after which the state is worthless); a
 * denial or a report-only call stores nothing. The backup receives the resulting state, never a re-run of
 * the math, so the copies cannot drift apart when members' clocks differ.
 *
 * <p>Not {@code Offloadable}: a decision takes microseconds, less than the thread hop would.
 */
public final class AcquireProcessor
    implements EntryProcessor<String, LimitState, Decision>, IdentifiedDataSerializable,
        ClockAware {

  private static final long serialVersionUID = 1L;

  private LimitAlgorithm algorithm;
  private long permits;
  private transient WallClock clock = WallClock.SYSTEM;
  private transient StateBackupProcessor<Decision> backup;

  /** For deserialization. */
  public AcquireProcessor() {}

  AcquireProcessor(LimitAlgorithm algorithm, long permits) {
    this.algorithm = algorithm;
    this.permits = permits;
  }

  @Override
  public void setClock(WallClock clock) {
    this.clock = clock;
  }

  @Override
  public Decision process(Map.Entry<String, LimitState> entry) {
    long now = clock.epochNanos();
    LimitState stored = entry.getValue();
    // Copy on write: with the OBJECT format the entry's value is the stored instance itself, and
    // a change must reach the store (and the backup) only through setValue.
    LimitState state = stored == null ? new LimitState() : stored.copy();
    Decision decision = algorithm.tryAcquire(state, permits, now);
    if (decision.allowed() && permits > 0) {
      long ttlMillis = ttlMillis(algorithm.ttlNanos(state, now));
      ((ExtendedMapEntry<String, LimitState>) entry).setValue(state, ttlMillis,
          TimeUnit.MILLISECONDS);
      // Stored states are never changed in place, so the backup can carry this instance.
      backup = new StateBackupProcessor<>(state, ttlMillis);
    }
    return decision;
  }

  @Override
  public EntryProcessor<String, LimitState, Decision> getBackupProcessor() {
    return backup;
  }

  /** Keeps state a second past the point where it stops mattering, and never for zero time. */
  static long ttlMillis(long ttlNanos) {
    return TimeUnit.NANOSECONDS.toMillis(ttlNanos) + 1_000;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.ACQUIRE;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    GridSerialization.writeAlgorithm(out, algorithm);
    out.writeLong(permits);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    algorithm = GridSerialization.readAlgorithm(in);
    permits = in.readLong();
  }
}
