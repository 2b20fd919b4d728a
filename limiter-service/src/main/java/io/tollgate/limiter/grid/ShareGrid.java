package io.tollgate.limiter.grid;

import com.hazelcast.config.SerializationConfig;
import com.hazelcast.config.SerializerConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.map.IMap;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import com.hazelcast.nio.serialization.StreamSerializer;
import io.tollgate.limiter.algorithm.ShareTable;
import io.tollgate.limiter.algorithm.WallClock;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The shares of RLQS streams in the {@value #SHARES_MAP} map: one {@link ShareTable} per limit
 * counter key, changed only by the processors here on the key's owner, with the owner's clock,
 * and copied whole to one synchronous backup. No locks: the community edition has no CP
 * subsystem, and none is needed, since each table changes only on its partition thread.
 */
public final class ShareGrid {

  /** The map of share tables. */
  public static final String SHARES_MAP = "tollgate-rlqs-shares";

  // Checked against the other factory ids in GridConfig.
  static final int FACTORY_ID = 0x7A51;
  static final int REPORT = 1;
  static final int RELEASE = 2;
  static final int BACKUP = 3;
  static final int TABLE_TYPE_ID = 0x7A51_01;
  private static final byte TABLE_FORMAT_V1 = 1;
  /** V1 plus each holder's deferredUntil. */
  private static final byte TABLE_FORMAT_V2 = 2;

  private final IMap<String, ShareTable> shares;
  /** Where the answers complete; see {@link GridThreads#CALLBACKS}. */
  private final java.util.concurrent.Executor callbacks;

  /** A grid view over a member configured by {@link GridConfig#configure}. */
  public ShareGrid(HazelcastInstance member) {
    this(member, GridThreads.CALLBACKS);
  }

  /** A grid view whose answers complete on {@code callbacks}. */
  public ShareGrid(HazelcastInstance member, java.util.concurrent.Executor callbacks) {
    this.shares = member.getMap(SHARES_MAP);
    this.callbacks = java.util.Objects.requireNonNull(callbacks, "callbacks");
  }

  /** Registers the share tables' factory and serializer; see {@link GridConfig}. */
  static void registerSerialization(SerializationConfig config) {
    config.addDataSerializableFactory(FACTORY_ID, id -> switch (id) {
      case REPORT -> new ReportProcessor();
      case RELEASE -> new ReleaseProcessor();
      case BACKUP -> new BackupProcessor();
      default -> null;
    });
    config.addSerializerConfig(new SerializerConfig()
        .setTypeClass(ShareTable.class).setImplementation(new TableSerializer()));
  }

  /** Gives a share processor the member's clock before it runs; see {@link GridConfig}. */
  static void initialize(Object processor, WallClock clock) {
    if (processor instanceof ReportProcessor r) {
      r.clock = clock;
    } else if (processor instanceof ReleaseProcessor r) {
      r.clock = clock;
    }
  }

  /**
   * Records a stream's report for the limit under {@code key} and returns its grant:
   * {@code [grant, expiresAt epoch nanos, ttl nanos, deferred (1) or not (0)]}; a deferred grant
   * is not in force and must not be sent ({@link ShareTable.Holder#deferred}).
   */
  public CompletionStage<long[]> report(String key, String stream, long demandPerWindow,
      ShareTable.Params params) {
    return GridThreads.completeOn(GridThreads.start(
        () -> shares.submitToKey(key, new ReportProcessor(stream, demandPerWindow, params))),
        callbacks).thenApply(r -> (long[]) r);
  }

  /** Removes a stream's grant under {@code key} (its proxy was told to abandon the bucket). */
  public CompletionStage<Boolean> release(String key, String stream) {
    return GridThreads.completeOn(
        GridThreads.start(() -> shares.submitToKey(key, new ReleaseProcessor(stream))),
        callbacks).thenApply(r -> (Boolean) r);
  }

  /** A copy of the table under {@code key}, or {@code null}; for tests and diagnostics. */
  public ShareTable read(String key) {
    ShareTable t = shares.get(key);
    return t == null ? null : t.copy();
  }

  private static void store(Map.Entry<String, ShareTable> entry, ShareTable table, long now,
      AbstractProcessor owner) {
    if (table.holders().isEmpty()) {
      entry.setValue(null);
      owner.backup = new BackupProcessor(null, 0);
      return;
    }
    long ttlMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(table.lastExpiry() - now)) + 1_000;
    ((ExtendedMapEntry<String, ShareTable>) entry).setValue(table, ttlMillis,
        TimeUnit.MILLISECONDS);
    owner.backup = new BackupProcessor(table, ttlMillis);
  }

  private abstract static class AbstractProcessor
      implements EntryProcessor<String, ShareTable, Object>, IdentifiedDataSerializable {
    transient WallClock clock = WallClock.SYSTEM;
    transient BackupProcessor backup;

    @Override
    public EntryProcessor<String, ShareTable, Object> getBackupProcessor() {
      return backup;
    }

    @Override
    public int getFactoryId() {
      return FACTORY_ID;
    }
  }

  /** Runs {@link ShareTable#report} on the owner. */
  static final class ReportProcessor extends AbstractProcessor {
    private String stream;
    private long demand;
    private ShareTable.Params params;

    ReportProcessor() {}

    ReportProcessor(String stream, long demand, ShareTable.Params params) {
      this.stream = stream;
      this.demand = demand;
      this.params = params;
    }

    @Override
    public Object process(Map.Entry<String, ShareTable> entry) {
      long now = clock.epochNanos();
      ShareTable stored = entry.getValue();
      // Copy on write: with OBJECT format the value is the stored instance.
      ShareTable table = stored == null ? new ShareTable() : stored.copy();
      ShareTable.Holder h = table.report(stream, demand, now, params);
      store(entry, table, now, this);
      return new long[] {h.grant(), h.expiresAt(), params.ttlNanos(), h.deferred() ? 1 : 0};
    }

    @Override
    public int getClassId() {
      return REPORT;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(stream);
      out.writeLong(demand);
      out.writeLong(params.limit());
      out.writeLong(params.minShare());
      out.writeLong(params.ttlNanos());
      out.writeInt(params.headroomPercent());
      out.writeInt(params.tolerancePercent());
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      stream = in.readString();
      demand = in.readLong();
      params = new ShareTable.Params(in.readLong(), in.readLong(), in.readLong(), in.readInt(),
          in.readInt());
    }
  }

  /** Runs {@link ShareTable#release} on the owner. */
  static final class ReleaseProcessor extends AbstractProcessor {
    private String stream;

    ReleaseProcessor() {}

    ReleaseProcessor(String stream) {
      this.stream = stream;
    }

    @Override
    public Object process(Map.Entry<String, ShareTable> entry) {
      ShareTable stored = entry.getValue();
      if (stored == null || !stored.holders().containsKey(stream)) {
        return Boolean.FALSE;
      }
      long now = clock.epochNanos();
      ShareTable table = stored.copy();
      table.release(stream);
      table.expire(now);
      store(entry, table, now, this);
      return Boolean.TRUE;
    }

    @Override
    public int getClassId() {
      return RELEASE;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(stream);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      stream = in.readString();
    }
  }

  /** Puts the owner's resulting table on the backup: the math never runs twice. */
  static final class BackupProcessor
      implements EntryProcessor<String, ShareTable, Object>, IdentifiedDataSerializable {
    private ShareTable table;
    private long ttlMillis;

    BackupProcessor() {}

    BackupProcessor(ShareTable table, long ttlMillis) {
      this.table = table;
      this.ttlMillis = ttlMillis;
    }

    @Override
    public Object process(Map.Entry<String, ShareTable> entry) {
      if (table == null) {
        entry.setValue(null);
      } else {
        ((ExtendedMapEntry<String, ShareTable>) entry).setValue(table, ttlMillis,
            TimeUnit.MILLISECONDS);
      }
      return null;
    }

    @Override
    public int getFactoryId() {
      return FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return BACKUP;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeBoolean(table != null);
      if (table != null) {
        writeTable(out, table);
      }
      out.writeLong(ttlMillis);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      table = in.readBoolean() ? readTable(in) : null;
      ttlMillis = in.readLong();
    }
  }

  static void writeTable(ObjectDataOutput out, ShareTable table) throws IOException {
    out.writeByte(TABLE_FORMAT_V2);
    out.writeInt(table.holders().size());
    for (Map.Entry<String, ShareTable.Holder> e : table.holders().entrySet()) {
      out.writeString(e.getKey());
      out.writeLong(e.getValue().demand());
      out.writeLong(e.getValue().grant());
      out.writeLong(e.getValue().expiresAt());
      out.writeLong(e.getValue().deferredUntil());
    }
  }

  static ShareTable readTable(ObjectDataInput in) throws IOException {
    byte version = in.readByte();
    if (version != TABLE_FORMAT_V1 && version != TABLE_FORMAT_V2) {
      throw new IOException("unknown share table format " + version);
    }
    int n = in.readInt();
    Map<String, ShareTable.Holder> holders = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      String stream = in.readString();
      long demand = in.readLong();
      long grant = in.readLong();
      long expiresAt = in.readLong();
      long deferredUntil = version == TABLE_FORMAT_V2 ? in.readLong() : 0;
      holders.put(stream, new ShareTable.Holder(demand, grant, expiresAt, deferredUntil));
    }
    return new ShareTable(holders);
  }

  static final class TableSerializer implements StreamSerializer<ShareTable> {
    @Override
    public void write(ObjectDataOutput out, ShareTable table) throws IOException {
      writeTable(out, table);
    }

    @Override
    public ShareTable read(ObjectDataInput in) throws IOException {
      return readTable(in);
    }

    @Override
    public int getTypeId() {
      return TABLE_TYPE_ID;
    }
  }
}
