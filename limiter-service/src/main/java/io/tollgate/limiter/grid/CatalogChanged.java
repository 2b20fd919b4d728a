package io.tollgate.limiter.grid;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.tollgate.limiter.store.CatalogStore;
import java.io.IOException;
import java.util.concurrent.Callable;

/**
 * A change notice run on every member: hands the change to the member's catalog listener, found
 * in the member's user context. The sender waits for every member's answer, so a change is
 * visible on all members when the admin call that made it returns.
 */
final class CatalogChanged implements Callable<Boolean>, IdentifiedDataSerializable,
    HazelcastInstanceAware {

  /** The user-context key of the member's {@link CatalogStore.Listener}. */
  static final String LISTENER = "tollgate.catalog.listener";

  private String keyHash;
  private transient HazelcastInstance member;

  /** For deserialization. */
  CatalogChanged() {}

  /** @param keyHash the changed key's hash, or {@code null} when the plans changed */
  CatalogChanged(String keyHash) {
    this.keyHash = keyHash;
  }

  @Override
  public void setHazelcastInstance(HazelcastInstance instance) {
    this.member = instance;
  }

  @Override
  public Boolean call() {
    Object listener = member.getUserContext().get(LISTENER);
    if (!(listener instanceof CatalogStore.Listener l)) {
      return false;
    }
    if (keyHash == null) {
      l.plansChanged();
    } else {
      l.keyChanged(keyHash);
    }
    return true;
  }

  @Override
  public int getFactoryId() {
    return CatalogSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return CatalogSerialization.CHANGED;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeString(keyHash);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    keyHash = in.readString();
  }
}
