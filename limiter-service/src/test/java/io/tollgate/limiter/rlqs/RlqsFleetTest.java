package io.tollgate.limiter.rlqs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.RlqsFleet;
import io.tollgate.limiter.testing.RlqsProxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A simulated fleet of Envoy proxies (real RLQS streams, local enforcement as Envoy's filter
 * does) against a two-member cluster sharing one fake clock. Each test uses its own bucket of the
 * rule {@code tenant: 100 per second}.
 */
class RlqsFleetTest {

  private static final long LIMIT = 100;
  private static final long W = TimeUnit.SECONDS.toNanos(1);
  private static final long TICK = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long REPORT = TimeUnit.MILLISECONDS.toNanos(100);
  /** --rlqs-min-ttl-ms: the TTL of every assignment here (3 x 100 ms is less). */
  private static final long TTL = TimeUnit.MILLISECONDS.toNanos(2_000);

  @TempDir
  static Path dir;

  private static final FakeClock CLOCK = new FakeClock();
  private static InJvmLimiter a;
  private static InJvmLimiter b;
  private final List<RlqsProxy> proxies = new ArrayList<>();

  @BeforeAll
  static void cluster() throws Exception {
    Path config = dir.resolve("fleet.yaml");
    Files.writeString(config, """
        domain: fleet
        descriptors:
          - key: tenant
            rate_limit: {unit: second, requests_per_unit: 100}
        """);
    int pa = FreePorts.next();
    int pb = FreePorts.next();
    String members = "127.0.0.1:" + pa + ",127.0.0.1:" + pb;
    String name = "rlqs-fleet-" + System.nanoTime();
    a = InJvmLimiter.start(config, CLOCK, pa, "--members", members, "--cluster-name", name,
        "--rlqs-min-ttl-ms", "2000");
    b = InJvmLimiter.start(config, CLOCK, pb, "--members", members, "--cluster-name", name,
        "--rlqs-min-ttl-ms", "2000");
    io.tollgate.limiter.testing.Awaits.await("two members", java.time.Duration.ofSeconds(60),
        () -> a.metric("ratelimit_cluster_members") == 2 && b.metric("ratelimit_cluster_members") == 2);
  }

  @AfterAll
  static void stop() throws Exception {
    if (b != null) {
      b.close();
    }
    if (a != null) {
      a.close();
    }
  }

  @AfterEach
  void closeProxies() throws Exception {
    for (RlqsProxy p : proxies) {
      p.close();
    }
  }

  /** Four proxies, two on each member, demands 10, 30, 80 and 150 per second. */
  private RlqsFleet fleet(String tenant) {
    RlqsFleet fleet = new RlqsFleet(CLOCK, W);
    double[] demands = {10, 30, 80, 150};
    for (int i = 0; i < demands.length; i++) {
      RlqsProxy p = new RlqsProxy("proxy-" + i, (i % 2 == 0 ? a : b).grpcPort(), "fleet",
          Map.of("tenant", tenant), CLOCK);
      proxies.add(p);
      fleet.add(p, demands[i]);
    }
    return fleet;
  }

  private static void assertWithinBound(RlqsFleet fleet) {
    for (RlqsFleet.Window w : fleet.windows()) {
      assertTrue(w.admitted() <= LIMIT + w.changeAllowance(),
          "window " + w + " admitted more than " + LIMIT + " + " + w.changeAllowance());
    }
  }

  private static long grants(RlqsFleet fleet, int... which) {
    long sum = 0;
    for (int i : which) {
      sum += fleet.entries().get(i).proxy.grant(W);
    }
    return sum;
  }

  @Test
  void fleetAdmitsAtMostTheLimitPerWindowAndSharesMaxMinFair() throws Exception {
    RlqsFleet fleet = fleet("steady");
    fleet.run(TimeUnit.SECONDS.toNanos(3), TICK, REPORT);
    assertWithinBound(fleet);
    fleet.resetWindows();
    fleet.run(TimeUnit.SECONDS.toNanos(4), TICK, REPORT);
    // The first window after the reset was counted in part only.
    List<RlqsFleet.Window> steady = fleet.windows().subList(1, fleet.windows().size());
    assertTrue(steady.size() >= 2, steady.toString());
    for (RlqsFleet.Window w : steady) {
      // Settled: no change of assignment, so the limit holds exactly. Each bucket's size is
      // spent once, so in the long run a proxy admits its grant less its bucket size (10%).
      assertEquals(0, w.changeAllowance(), "assignments still moving: " + steady);
      assertTrue(w.admitted() <= LIMIT, w.toString());
      assertTrue(w.admitted() >= 85, "limit poorly used: " + steady);
    }
    // Max-min fair: the light proxy gets all it asks for, the three busy ones an equal rest.
    long light = fleet.entries().get(0).proxy.grant(W);
    assertTrue(light >= 10 && light <= 15, "light proxy's grant " + light);
    for (int i = 1; i < 4; i++) {
      long g = fleet.entries().get(i).proxy.grant(W);
      assertTrue(g >= 27 && g <= 31, "busy proxy " + i + "'s grant " + g);
    }
    assertTrue(grants(fleet, 0, 1, 2, 3) <= LIMIT);
  }

  @Test
  void aProxyWhoseDemandRisesGetsMoreWithinTwoReportIntervals() throws Exception {
    RlqsFleet fleet = fleet("rise");
    fleet.run(TimeUnit.SECONDS.toNanos(3), TICK, REPORT);
    RlqsFleet.Entry light = fleet.entries().get(0);
    long before = light.proxy.grant(W);
    assertTrue(before <= 15, "light grant " + before);
    // The rise happens at the light proxy's report: the next two (after one and two intervals)
    // carry it; the others report in between.
    fleet.setDemand(light, 200);
    fleet.run(2 * REPORT + TICK, TICK, REPORT);
    long after = light.proxy.grant(W);
    assertTrue(after >= 23, "grant " + before + " -> " + after + " after two report intervals; all: " + fleet.entries().stream().map(e -> e.proxy.grant(W)).toList());
    assertTrue(grants(fleet, 0, 1, 2, 3) <= LIMIT);
    fleet.run(TimeUnit.SECONDS.toNanos(2), TICK, REPORT);
    assertWithinBound(fleet);
  }

  @Test
  void aKilledProxysShareReturnsToTheOthersAfterItsTtl() throws Exception {
    RlqsFleet fleet = fleet("kill");
    fleet.run(TimeUnit.SECONDS.toNanos(3), TICK, REPORT);
    RlqsFleet.Entry victim = fleet.entries().get(3);
    long held = victim.proxy.grant(W);
    assertTrue(held >= 20, "victim's grant " + held);
    fleet.kill(victim);
    // Until its TTL the dead proxy may still be admitting: its share stays reserved.
    fleet.run(TTL - 2 * REPORT, TICK, REPORT);
    assertTrue(grants(fleet, 0, 1, 2) <= LIMIT - held,
        "the others took the dead proxy's share before its TTL: " + grants(fleet, 0, 1, 2));
    fleet.run(4 * REPORT + 2 * REPORT, TICK, REPORT);
    long others = grants(fleet, 0, 1, 2);
    // 10 and 30 fit (wants 13 and 38), the 80/s proxy gets the rest but the reserved unit.
    assertTrue(others >= 95 && others <= LIMIT, "the others' grants after the TTL: " + others);
    assertWithinBound(fleet);
  }
}
