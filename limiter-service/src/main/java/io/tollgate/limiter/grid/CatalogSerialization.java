package io.tollgate.limiter.grid;

import com.hazelcast.config.Config;
import com.hazelcast.config.SerializationConfig;
import com.hazelcast.config.SerializerConfig;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import com.hazelcast.nio.serialization.StreamSerializer;
import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import java.io.IOException;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Grid formats of plans, keys and the catalog's change notices. Like {@link GridSerialization}:
 * explicit fields, no reflection, a version byte first in every stored value.
 */
final class CatalogSerialization {

  static final int FACTORY_ID = 0x7012;
  static final int CHANGED = 1;

  static final int PLAN_TYPE_ID = 0x7011_10;
  static final int KEY_TYPE_ID = 0x7011_11;

  private static final byte FORMAT_V1 = 1;

  private CatalogSerialization() {}

  static void register(Config config) {
    SerializationConfig s = config.getSerializationConfig();
    s.addDataSerializableFactory(FACTORY_ID, CatalogSerialization::create);
    s.addSerializerConfig(new SerializerConfig()
        .setTypeClass(UsagePlan.class).setImplementation(new PlanSerializer()));
    s.addSerializerConfig(new SerializerConfig()
        .setTypeClass(ApiKey.class).setImplementation(new KeySerializer()));
  }

  private static IdentifiedDataSerializable create(int classId) {
    return classId == CHANGED ? new CatalogChanged() : null;
  }

  private static void version(ObjectDataInput in, String what) throws IOException {
    byte v = in.readByte();
    if (v != FORMAT_V1) {
      throw new IOException("unknown " + what + " format " + v);
    }
  }

  private static void writeThrottle(ObjectDataOutput out, Throttle t) throws IOException {
    out.writeBoolean(t != null);
    if (t != null) {
      out.writeDouble(t.rate());
      out.writeLong(t.burst());
    }
  }

  private static Throttle readThrottle(ObjectDataInput in) throws IOException {
    return in.readBoolean() ? new Throttle(in.readDouble(), in.readLong()) : null;
  }

  static final class PlanSerializer implements StreamSerializer<UsagePlan> {
    @Override
    public void write(ObjectDataOutput out, UsagePlan p) throws IOException {
      out.writeByte(FORMAT_V1);
      out.writeString(p.id());
      out.writeString(p.name());
      out.writeString(p.description());
      writeThrottle(out, p.throttle());
      Quota q = p.quota();
      out.writeBoolean(q != null);
      if (q != null) {
        out.writeLong(q.limit());
        out.writeString(q.period().name());
        out.writeInt(q.offset());
        out.writeString(q.zone().getId());
      }
      out.writeInt(p.apiStages().size());
      for (ApiStage s : p.apiStages()) {
        out.writeString(s.api());
        out.writeString(s.stage());
        out.writeInt(s.methods().size());
        for (Map.Entry<String, Throttle> m : s.methods().entrySet()) {
          out.writeString(m.getKey());
          writeThrottle(out, m.getValue());
        }
      }
      out.writeBoolean(p.declared());
    }

    @Override
    public UsagePlan read(ObjectDataInput in) throws IOException {
      version(in, "plan");
      String id = in.readString();
      String name = in.readString();
      String description = in.readString();
      Throttle throttle = readThrottle(in);
      Quota quota = in.readBoolean()
          ? new Quota(in.readLong(), CalendarPeriod.valueOf(in.readString()), in.readInt(),
              ZoneId.of(in.readString()))
          : null;
      int stages = in.readInt();
      List<ApiStage> list = new ArrayList<>(stages);
      for (int i = 0; i < stages; i++) {
        String api = in.readString();
        String stage = in.readString();
        int methods = in.readInt();
        Map<String, Throttle> m = new LinkedHashMap<>();
        for (int j = 0; j < methods; j++) {
          m.put(in.readString(), readThrottle(in));
        }
        list.add(new ApiStage(api, stage, m));
      }
      return new UsagePlan(id, name, description, throttle, quota, list, in.readBoolean());
    }

    @Override
    public int getTypeId() {
      return PLAN_TYPE_ID;
    }
  }

  static final class KeySerializer implements StreamSerializer<ApiKey> {
    @Override
    public void write(ObjectDataOutput out, ApiKey k) throws IOException {
      out.writeByte(FORMAT_V1);
      out.writeString(k.id());
      out.writeString(k.name());
      out.writeString(k.hash());
      out.writeBoolean(k.enabled());
      out.writeStringArray(k.planIds().toArray(String[]::new));
      out.writeLong(k.createdAt().getEpochSecond());
      out.writeInt(k.createdAt().getNano());
      out.writeBoolean(k.declared());
    }

    @Override
    public ApiKey read(ObjectDataInput in) throws IOException {
      version(in, "key");
      String id = in.readString();
      String name = in.readString();
      String hash = in.readString();
      boolean enabled = in.readBoolean();
      TreeSet<String> plans = new TreeSet<>(List.of(in.readStringArray()));
      Instant created = Instant.ofEpochSecond(in.readLong(), in.readInt());
      return new ApiKey(id, name, hash, enabled, plans, created, in.readBoolean());
    }

    @Override
    public int getTypeId() {
      return KEY_TYPE_ID;
    }
  }
}
