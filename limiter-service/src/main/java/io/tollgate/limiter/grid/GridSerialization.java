package io.tollgate.limiter.grid;

import com.hazelcast.config.Config;
import com.hazelcast.config.SerializationConfig;
import com.hazelcast.config.SerializerConfig;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import com.hazelcast.nio.serialization.StreamSerializer;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import java.io.IOException;

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

  static final int LIMIT_STATE_TYPE_ID = 0x7011_01;
  static final int DECISION_TYPE_ID = 0x7011_02;

  private static final byte STATE_FORMAT_V1 = 1;

  private GridSerialization() {}

  static void register(Config config) {
    SerializationConfig s = config.getSerializationConfig();
    s.addDataSerializableFactory(FACTORY_ID, GridSerialization::create);
    s.addSerializerConfig(new SerializerConfig()
        .setTypeClass(LimitState.class).setImplementation(new LimitStateSerializer()));
    s.addSerializerConfig(new SerializerConfig()
        .setTypeClass(Decision.class).setImplementation(new DecisionSerializer()));
  }

  private static IdentifiedDataSerializable create(int classId) {
    return switch (classId) {
      case ACQUIRE -> new AcquireProcessor();
      case REFUND -> new RefundProcessor();
      case STATE_BACKUP -> new StateBackupProcessor<>();
      default -> null;
    };
  }

  static void writeAlgorithm(ObjectDataOutput out, LimitAlgorithm algorithm) throws IOException {
    out.writeByte(algorithm.kind().ordinal());
    long rate = algorithm instanceof io.tollgate.limiter.algorithm.TokenBucket tb
        ? tb.rate() : algorithm.limit();
    out.writeLong(rate);
    out.writeLong(algorithm.windowNanos());
    out.writeLong(algorithm.limit());
  }

  static LimitAlgorithm readAlgorithm(ObjectDataInput in) throws IOException {
    LimitAlgorithm.Kind kind = LimitAlgorithm.Kind.values()[in.readByte()];
    long rate = in.readLong();
    long window = in.readLong();
    long limit = in.readLong();
    return LimitAlgorithm.of(kind, rate, window, limit);
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
}
