package io.tollgate.limiter.store;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.algorithm.FixedWindow;
import java.util.List;
import org.junit.jupiter.api.Test;

class InMemoryLimitStoreTest extends LimitStoreContractTest {

  private final LimitStore store = new InMemoryLimitStore(clock);

  @Override
  protected List<LimitStore> stores() {
    return List.of(store);
  }

  @Test
  void resetTellsWhetherTheKeyHadState() throws Exception {
    store.acquire("used", new FixedWindow(1, MINUTE), 1);
    assertTrue(store.reset("used").toCompletableFuture().get());
    assertFalse(store.reset("used").toCompletableFuture().get());
    assertFalse(store.reset("never").toCompletableFuture().get());
  }
}
