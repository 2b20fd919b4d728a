package io.tollgate.limiter.store;

import java.util.List;

/** The store contract through the over-limit cache: the cache changes no answer. */
class OverLimitCacheContractTest extends LimitStoreContractTest {

  private final LimitStore store = new OverLimitCache(new InMemoryLimitStore(clock), 1_000, clock);

  @Override
  protected List<LimitStore> stores() {
    return List.of(store);
  }
}
