package io.tollgate.limiter.grid;

import com.hazelcast.config.SerializationConfig;
import com.hazelcast.config.SerializerConfig;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import com.hazelcast.nio.serialization.StreamSerializer;
import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import java.io.IOException;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The wire and stored formats of everything the grid moves: processors as
 * {@link IdentifiedDataSerializable}, state and decisions through explicit stream serializers.
 * No reflection. Each stored format starts with a version byte so later releases can read it.
 */
final class GridSerialization {

  static final int FACTORY_ID = 0x7011;
  static final int ACQUIRE = 1;
  static final int REFUND = 2;
  static final int STATE_BACKUP = 3;
  static final int QUOTA_ADJUST = 4;
  static final int QUOTA_READ = 5;
  // 6, 8 and 9 were the bucketed store's processors; not reused, so a member of that release
  // cannot read one of its processors as something else.
  static final int BATCH_OUTCOME = 7;
  static final int PARTITION_BATCH = 10;
  static final int PARTITION_BACKUP = 11;
  static final int PARTITION_BATCH_OPERATION = 12;

  static final int LIMIT_STATE_TYPE_ID = 0x7011_01;
  static final int DECISION_TYPE_ID = 0x7011_02;
  static final int QUOTA_SNAPSHOT_TYPE_ID = 0x7011_03;

  private static final byte STATE_FORMAT_V1 = 1;
  /**
   * The calendar quota's fields after its kind byte. The older kinds have no such byte: their
   * layout (kind, rate, window, limit) is unchanged, so members of the previous release still
   * read them.
   */
  private static final byte CALENDAR_QUOTA_FORMAT_V1 = 1;

  /**
   * Quotas read from the wire, interned so that each keeps its cached period across calls: a
   * fresh instance per call would recompute the period bounds with java.time every time. The
   * quotas in use are the plans' quotas, a few; the map is cleared if it ever grows past this.
   */
  private static final int MAX_INTERNED_QUOTAS = 1_024;
  private static final ConcurrentHashMap<CalendarQuota, CalendarQuota> QUOTAS =
      new ConcurrentHashMap<>();

  private GridSerialization() {}

  static void register(SerializationConfig s) {
    s.addDataSerializableFactory(FACTORY_ID, GridSerialization::create);
    s.addSerializerConfig(new SerializerConfig()
        .setTypeClass(LimitState.class).setImplementation(new LimitStateSerializer()));
    s.addSerializerConfig(new SerializerConfig()
        .setTypeClass(Decision.class).setImplementation(new DecisionSerializer()));
    s.addSerializerConfig(new SerializerConfig()
        .setTypeClass(QuotaSnapshot.class).setImplementation(new QuotaSnapshotSerializer()));
  }

  private static IdentifiedDataSerializable create(int classId) {
    return switch (classId) {
      case ACQUIRE -> new AcquireProcessor();
      case REFUND -> new RefundProcessor();
      case STATE_BACKUP -> new StateBackupProcessor<>();
      case QUOTA_ADJUST -> new QuotaAdjustProcessor();
      case QUOTA_READ -> new QuotaReadProcessor();
      case BATCH_OUTCOME -> new BatchOutcome();
      case PARTITION_BATCH -> new PartitionBatchProcessor();
      case PARTITION_BACKUP -> new PartitionBackupProcessor();
      case PARTITION_BATCH_OPERATION -> new PartitionBatchOperation();
      default -> null;
    };
  }

  /**
   * Writes an algorithm: its kind's ordinal as a byte, then for the fixed window, token bucket and
   * sliding window the rate, window and limit as longs, and for a calendar quota a format byte,
   * the limit, the period's name, the offset and the zone id.
   */
  static void writeAlgorithm(ObjectDataOutput out, LimitAlgorithm algorithm) throws IOException {
    out.writeByte(algorithm.kind().ordinal());
    if (algorithm instanceof CalendarQuota quota) {
      out.writeByte(CALENDAR_QUOTA_FORMAT_V1);
      out.writeLong(quota.limit());
      out.writeString(quota.period().name());
      out.writeInt(quota.offset());
      out.writeString(quota.zone().getId());
      return;
    }
    long rate = algorithm instanceof io.tollgate.limiter.algorithm.TokenBucket tb
        ? tb.rate() : algorithm.limit();
    out.writeLong(rate);
    out.writeLong(algorithm.windowNanos());
    out.writeLong(algorithm.limit());
  }

  static LimitAlgorithm readAlgorithm(ObjectDataInput in) throws IOException {
    byte ordinal = in.readByte();
    LimitAlgorithm.Kind[] kinds = LimitAlgorithm.Kind.values();
    if (ordinal < 0 || ordinal >= kinds.length) {
      throw new IOException("unknown algorithm kind " + ordinal);
    }
    LimitAlgorithm.Kind kind = kinds[ordinal];
    if (kind == LimitAlgorithm.Kind.CALENDAR_QUOTA) {
      return readCalendarQuota(in);
    }
    long rate = in.readLong();
    long window = in.readLong();
    long limit = in.readLong();
    return LimitAlgorithm.of(kind, rate, window, limit);
  }

  private static CalendarQuota readCalendarQuota(ObjectDataInput in) throws IOException {
    byte version = in.readByte();
    if (version != CALENDAR_QUOTA_FORMAT_V1) {
      throw new IOException("unknown calendar quota format " + version);
    }
    long limit = in.readLong();
    String period = in.readString();
    int offset = in.readInt();
    String zone = in.readString();
    CalendarQuota quota;
    try {
      quota = new CalendarQuota(limit, CalendarPeriod.valueOf(period), offset, ZoneId.of(zone));
    } catch (IllegalArgumentException | NullPointerException | DateTimeException e) {
      throw new IOException("bad calendar quota: limit " + limit + ", period " + period
          + ", offset " + offset + ", zone " + zone, e);
    }
    CalendarQuota interned = QUOTAS.get(quota);
    if (interned != null) {
      return interned;
    }
    if (QUOTAS.size() >= MAX_INTERNED_QUOTAS) {
      QUOTAS.clear();
    }
    interned = QUOTAS.putIfAbsent(quota, quota);
    return interned == null ? quota : interned;
  }

  static void writeState(ObjectDataOutput out, LimitState state) throws IOException {
    out.writeByte(STATE_FORMAT_V1);
    out.writeLong(state.mark());
    out.writeLong(state.count());
    long[] slots = state.slots();
    out.writeLongArray(slots);
  }

  static LimitState readState(ObjectDataInput in) throws IOException {
    byte version = in.readByte();
    if (version != STATE_FORMAT_V1) {
      throw new IOException("unknown limit state format " + version);
    }
    return new LimitState(in.readLong(), in.readLong(), in.readLongArray());
  }

  static void writeDecision(ObjectDataOutput out, Decision d) throws IOException {
    out.writeBoolean(d.allowed());
    out.writeLong(d.permits());
    out.writeLong(d.limit());
    out.writeLong(d.remaining());
    out.writeLong(d.resetAfterNanos());
    out.writeLong(d.receipt());
  }

  static Decision readDecision(ObjectDataInput in) throws IOException {
    return new Decision(in.readBoolean(), in.readLong(), in.readLong(), in.readLong(),
        in.readLong(), in.readLong());
  }

  static void writeSnapshot(ObjectDataOutput out, QuotaSnapshot q) throws IOException {
    out.writeLong(q.limit());
    out.writeLong(q.used());
    out.writeLong(q.periodStart());
    out.writeLong(q.periodEnd());
  }

  static QuotaSnapshot readSnapshot(ObjectDataInput in) throws IOException {
    return new QuotaSnapshot(in.readLong(), in.readLong(), in.readLong(), in.readLong());
  }

  static final class LimitStateSerializer implements StreamSerializer<LimitState> {
    @Override
    public void write(ObjectDataOutput out, LimitState state) throws IOException {
      writeState(out, state);
    }

    @Override
    public LimitState read(ObjectDataInput in) throws IOException {
      return readState(in);
    }

    @Override
    public int getTypeId() {
      return LIMIT_STATE_TYPE_ID;
    }
  }

  static final class DecisionSerializer implements StreamSerializer<Decision> {
    @Override
    public void write(ObjectDataOutput out, Decision d) throws IOException {
      writeDecision(out, d);
    }

    @Override
    public Decision read(ObjectDataInput in) throws IOException {
      return readDecision(in);
    }

    @Override
    public int getTypeId() {
      return DECISION_TYPE_ID;
    }
  }

  static final class QuotaSnapshotSerializer implements StreamSerializer<QuotaSnapshot> {
    @Override
    public void write(ObjectDataOutput out, QuotaSnapshot q) throws IOException {
      writeSnapshot(out, q);
    }

    @Override
    public QuotaSnapshot read(ObjectDataInput in) throws IOException {
      return readSnapshot(in);
    }

    @Override
    public int getTypeId() {
      return QUOTA_SNAPSHOT_TYPE_ID;
    }
  }
}
