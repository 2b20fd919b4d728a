package io.tollgate.limiter.grid;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.algorithm.Decision;
import java.io.IOException;

/**
 * What a {@link BatchProcessor} answers, by position in its batch: the decision of each acquire,
 * and for each refund whether it changed the state.
 */
final class BatchOutcome implements IdentifiedDataSerializable {

  private static final byte DECISION = 0;
  private static final byte REFUND = 1;
  private static final byte ERROR = 2;
  private static final byte EXPIRED = 3;

  private Decision[] decisions;
  private boolean[] refunded;
  /** Per call: why it could not be applied, or {@code null}. */
  private String[] errors;
  /** Per call: whether it was dropped because its deadline had passed; {@code null} if none. */
  private boolean[] expired;

  /** For deserialization. */
  public BatchOutcome() {}

  BatchOutcome(Decision[] decisions, boolean[] refunded, String[] errors) {
    this(decisions, refunded, errors, null);
  }

  BatchOutcome(Decision[] decisions, boolean[] refunded, String[] errors, boolean[] expired) {
    this.decisions = decisions;
    this.refunded = refunded;
    this.errors = errors;
    this.expired = expired;
  }

  /** Whether the call at {@code i} was dropped, not applied, because its deadline had passed. */
  boolean expired(int i) {
    return expired != null && expired[i];
  }

  /** Why the call at {@code i} could not be applied, or {@code null} when it was. */
  String error(int i) {
    return errors == null ? null : errors[i];
  }

  /** The decision of the acquire at {@code i}; {@code null} for a refund. */
  Decision decision(int i) {
    return decisions[i];
  }

  /** Whether the refund at {@code i} changed the state. */
  boolean refunded(int i) {
    return refunded[i];
  }

  int size() {
    return decisions.length;
  }

  @Override
  public int getFactoryId() {
    return GridSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return GridSerialization.BATCH_OUTCOME;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeInt(decisions.length);
    for (int i = 0; i < decisions.length; i++) {
      if (expired(i)) {
        out.writeByte(EXPIRED);
      } else if (error(i) != null) {
        out.writeByte(ERROR);
        out.writeString(errors[i]);
      } else if (decisions[i] != null) {
        out.writeByte(DECISION);
        GridSerialization.writeDecision(out, decisions[i]);
      } else {
        out.writeByte(REFUND);
        out.writeBoolean(refunded[i]);
      }
    }
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative batch size " + n);
    }
    decisions = new Decision[n];
    refunded = new boolean[n];
    for (int i = 0; i < n; i++) {
      byte kind = in.readByte();
      switch (kind) {
        case DECISION -> decisions[i] = GridSerialization.readDecision(in);
        case REFUND -> refunded[i] = in.readBoolean();
        case EXPIRED -> {
          if (expired == null) {
            expired = new boolean[n];
          }
          expired[i] = true;
        }
        case ERROR -> {
          if (errors == null) {
            errors = new String[n];
          }
          errors[i] = in.readString();
        }
        default -> throw new IOException("unknown batch answer kind " + kind);
      }
    }
  }
}
