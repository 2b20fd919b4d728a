package io.tollgate.limiter.algorithm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A proxy whose stream moves to another member (member death, or the rolling
 * restart close() ends every stream) reports under a new stream id, while its old grant stays
 * in force until its TTL. The new holder gets min(target, limit - others in force), which is 0
 * or 1 when the old grants filled the limit: RlqsService then sends DENY_ALL (grant 0) or a
 * 1-per-2-windows bucket, and Envoy REPLACES its cached (still valid, still accounted) token bucket
 * with it. The proxy is starved for up to a TTL (3 reporting intervals) for no reason.
 */
class ShareTableReconnectTest {

  private static final long S = 1_000_000_000L;
  private static final long T0 = Clocks.Y2026;
  private static final ShareTable.Params P = new ShareTable.Params(100, 1, 3 * S, 25, 10);

  @Test
  void aReconnectingBusyProxyKeepsAUsableShare() {
    ShareTable t = new ShareTable();
    long now = T0;
    for (int i = 0; i < 5; i++) {
      t.report("streamA-old", 200, now, P);
      t.report("streamB", 200, now + 1, P);
      now += S;
    }
    long oldA = t.holders().get("streamA-old").grant();
    assertTrue(oldA >= 45, "A had " + oldA);
    // A's member dies; Envoy reopens the stream to the other member and reports 1 s later.
    ShareTable.Holder fresh = t.report("streamA-new", 200, now, P);
    assertTrue(fresh.grant() >= oldA / 2,
        "reconnected proxy gets " + fresh.grant() + " (had " + oldA + ") until the old grant expires");
    // Its share is deferred, not handed out as the 1 unit its ghost leaves: the service sends
    // nothing and the proxy keeps its cached assignment; the bound holds meanwhile.
    assertTrue(fresh.deferred(), "new holder " + fresh);
    assertTrue(t.inForce(now) <= 100, "in force " + t.inForce(now));
    // Both keep reporting each second: B is lowered, and once A's ghost expires (one TTL after
    // its last report) A gets its share; the bound holds throughout.
    ShareTable.Holder later = fresh;
    for (int i = 1; i <= 3; i++) {
      t.report("streamB", 200, now + i * S + 1, P);
      later = t.report("streamA-new", 200, now + i * S + 2, P);
      assertTrue(t.inForce(now + i * S + 2) <= 100, "in force " + t.inForce(now + i * S + 2));
    }
    assertTrue(!later.deferred() && later.grant() >= 45, "after the ghost's TTL: " + later);
  }

  /**
   * The floor is kept free only while the wants EXCEED the limit. When they sum to exactly the
   * limit (or within min_share of it), a new proxy gets 0, i.e. DENY_ALL for a whole TTL.
   */
  @Test
  void aNewProxyGetsTheFloorWhenTheWantsFillTheLimitExactly() {
    ShareTable t = new ShareTable();
    // demand 80 -> want ceil(80 * 1.25) = 100 > limit - minShare: the floor is reserved, so busy
    // gets 99 (getting 100 here would leave a new proxy 0 or break the bound).
    assertTrue(t.report("busy", 80, T0, P).grant() == 99);
    long g = t.report("new", 0, T0 + 1, P).grant();
    assertTrue(g >= 1, "new proxy gets " + g + " (DENY_ALL) though the floor is 1");
    assertTrue(t.inForce(T0 + 1) <= 100);
  }
}
