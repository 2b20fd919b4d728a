package io.tollgate.limiter.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The share algorithm on its own, with hand-set times. */
class ShareTableTest {

  private static final long S = 1_000_000_000L;
  private static final long T0 = Clocks.Y2026;
  /** Limit 100, floor 1, TTL 3 s, 25% headroom, 10% tolerance. */
  private static final ShareTable.Params P = new ShareTable.Params(100, 1, 3 * S, 25, 10);

  @Test
  void aLoneProxyGetsItsDemandWithHeadroom() {
    ShareTable t = new ShareTable();
    assertEquals(13, t.report("a", 10, T0, P).grant());
    assertEquals(T0 + 3 * S, t.holders().get("a").expiresAt());
  }

  @Test
  void aNewOrQuietProxyGetsTheFloorEvenWhenTheLimitIsOversubscribed() {
    ShareTable t = new ShareTable();
    assertEquals(99, t.report("busy", 500, T0, P).grant());
    // The one unit kept free while the wants exceed the limit.
    assertEquals(1, t.report("new", 0, T0 + 1, P).grant());
    assertTrue(t.inForce(T0 + 1) <= 100);
  }

  @Test
  void sharesConvergeMaxMinFair() {
    ShareTable t = new ShareTable();
    long now = T0;
    String[] ids = {"a", "b", "c", "d"};
    long[] demand = {10, 30, 80, 150};
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < 4; i++) {
        t.report(ids[i], demand[i], now, P);
        now += S / 10;
      }
    }
    assertEquals(13, t.holders().get("a").grant());
    long busy = 0;
    for (int i = 1; i < 4; i++) {
      long g = t.holders().get(ids[i]).grant();
      assertTrue(g >= 28 && g <= 30, ids[i] + " " + g);
      busy += g;
    }
    assertEquals(99, 13 + busy);
  }

  @Test
  void raisingWaitsForTheOthersToBeLowered() {
    ShareTable t = new ShareTable();
    t.report("a", 10, T0, P);
    t.report("b", 200, T0, P);
    assertEquals(13, t.holders().get("a").grant());
    assertEquals(86, t.holders().get("b").grant());
    // a's demand jumps: its target is 50 but b still holds 86, so a gets only the room left.
    assertEquals(14, t.report("a", 200, T0 + S / 10, P).grant());
    // b reports: lowered to its fair share (99 split, the odd unit to the first id, a).
    assertEquals(49, t.report("b", 200, T0 + S / 5, P).grant());
    // a's next report: raised into the room b left.
    assertEquals(50, t.report("a", 200, T0 + 3 * S / 10, P).grant());
    assertTrue(t.inForce(T0 + 3 * S / 10) <= 99);
  }

  @Test
  void anExpiredGrantReturnsToThePool() {
    ShareTable t = new ShareTable();
    t.report("dead", 200, T0, P);
    t.report("live", 200, T0, P);
    long dead = t.holders().get("dead").grant();
    // Before the dead one's TTL, the live one cannot take its share.
    ShareTable.Holder held = t.report("live", 200, T0 + 2 * S, P);
    // live's first report found dead's grant filling the limit: deferred, nothing in force.
    assertTrue(held.deferred(), "live " + held);
    assertTrue(t.inForce(T0 + 2 * S) <= 100, "in force " + t.inForce(T0 + 2 * S));
    long before = held.deferred() ? 0 : held.grant();
    assertTrue(before + dead <= 100, before + " + " + dead);
    long after = t.report("live", 200, T0 + 3 * S, P).grant();
    assertEquals(99, after);
    assertTrue(!t.holders().containsKey("dead"));
  }

  @Test
  void smallChangesKeepTheGrant() {
    ShareTable t = new ShareTable();
    long g = t.report("a", 40, T0, P).grant();
    assertEquals(50, g);
    // Demand 42 wants 53: within 10% of 50, so the proxy's bucket is not restarted.
    assertEquals(50, t.report("a", 42, T0 + S, P).grant());
    assertEquals(63, t.report("a", 50, T0 + 2 * S, P).grant());
  }

  @Test
  void aLoweredLimitLowersAReportingProxyAtOnce() {
    ShareTable t = new ShareTable();
    assertEquals(99, t.report("a", 500, T0, P).grant());
    ShareTable.Params lower = new ShareTable.Params(40, 1, 3 * S, 25, 10);
    assertEquals(39, t.report("a", 500, T0 + S, lower).grant());
  }

  @Test
  void releaseFreesAShareAtOnce() {
    ShareTable t = new ShareTable();
    t.report("a", 500, T0, P);
    assertTrue(t.release("a"));
    assertEquals(99, t.report("b", 500, T0 + 1, P).grant());
  }

  /**
   * The invariant under random reports, demands, deaths and limit changes: the grants in force
   * never sum to more than the limit, after every step.
   */
  @Test
  void grantsInForceNeverExceedTheLimit() {
    Random random = new Random(42);
    for (int run = 0; run < 300; run++) {
      ShareTable t = new ShareTable();
      long now = T0 + random.nextInt(1_000_000);
      long limit = 1 + random.nextInt(500);
      int streams = 1 + random.nextInt(10);
      for (int step = 0; step < 300; step++) {
        now += random.nextInt((int) (S / 5));
        if (random.nextInt(50) == 0) {
          // A reload that raises the limit (lowering is covered by the next test).
          limit += random.nextInt(100);
        }
        ShareTable.Params p = new ShareTable.Params(limit, 1 + random.nextInt(5),
            S + random.nextInt((int) (2 * S)), random.nextInt(50), random.nextInt(20));
        String id = "s" + random.nextInt(streams);
        long demand = random.nextInt(4) == 0 ? 0 : random.nextInt((int) (2 * limit));
        if (random.nextInt(20) == 0) {
          t.release(id);
        } else {
          t.report(id, demand, now, p);
        }
        assertTrue(t.inForce(now) <= limit, "run " + run + " step " + step + ": "
            + t.holders() + " over " + limit);
      }
    }
  }

  @Test
  void afterALimitIsLoweredTheSumFallsBackWithinItOnceEveryoneReported() {
    ShareTable t = new ShareTable();
    for (String id : new String[] {"a", "b", "c"}) {
      t.report(id, 100, T0, P);
    }
    ShareTable.Params lower = new ShareTable.Params(30, 1, 3 * S, 25, 10);
    for (String id : new String[] {"a", "b", "c"}) {
      t.report(id, 100, T0 + S, lower);
    }
    assertTrue(t.inForce(T0 + S) <= 30, t.holders().toString());
  }
}
