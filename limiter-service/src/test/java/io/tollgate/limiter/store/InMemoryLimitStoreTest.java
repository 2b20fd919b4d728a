package io.tollgate.limiter.store;

import java.util.List;

class InMemoryLimitStoreTest extends LimitStoreContractTest {

  private final LimitStore store = new InMemoryLimitStore(clock);

  @Override
  protected List<LimitStore> stores() {
    return List.of(store);
  }
}
