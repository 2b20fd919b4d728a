package io.tollgate.limiter.rlqs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import io.tollgate.limiter.testing.RlqsFleet;
import io.tollgate.limiter.testing.RlqsProxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two limiter JVMs and a simulated fleet in real time; one member is killed with SIGKILL. The
 * proxies connected to it open new streams to the survivor, the shares (kept in the grid with a
 * synchronous backup) survive, and no window admits more than the limit plus the allowance for
 * assignment changes.
 */
class RlqsMemberKillTest {

  private static final long LIMIT = 50;
  private static final long W = TimeUnit.SECONDS.toNanos(1);

  @TempDir
  Path dir;

  @Test
  void killingAMemberMovesTheStreamsWithoutOverAdmitting() throws Exception {
    Path config = dir.resolve("rules.yaml");
    Files.writeString(config, """
        domain: fleet
        descriptors:
          - key: tenant
            rate_limit: {unit: second, requests_per_unit: 50}
        """);
    int pa = FreePorts.next();
    int pb = FreePorts.next();
    String members = "127.0.0.1:" + pa + ",127.0.0.1:" + pb;
    String name = "rlqs-kill-" + System.nanoTime();
    List<RlqsProxy> proxies = new ArrayList<>();
    try (LimiterProcess a = LimiterProcess.start("rlqs-a", config, pa, "--members", members,
            "--cluster-name", name);
        LimiterProcess b = LimiterProcess.start("rlqs-b", config, pb, "--members", members,
            "--cluster-name", name)) {
      a.awaitReady(Duration.ofSeconds(90));
      b.awaitReady(Duration.ofSeconds(90));
      io.tollgate.limiter.testing.Awaits.await("two members", Duration.ofSeconds(60),
          () -> a.httpGet("/metrics").body().contains("ratelimit_cluster_members 2.0"));
      RlqsFleet fleet = new RlqsFleet(WallClock.SYSTEM, W);
      double[] demands = {20, 40, 60, 80};
      for (int i = 0; i < demands.length; i++) {
        RlqsProxy p = new RlqsProxy("proxy-" + i, i % 2 == 0 ? a.grpcPort : b.grpcPort, "fleet",
            Map.of("tenant", "shared"), WallClock.SYSTEM);
        proxies.add(p);
        fleet.add(p, demands[i]);
      }
      fleet.failover(() -> a.grpcPort);
      long tick = TimeUnit.MILLISECONDS.toNanos(10);
      long report = TimeUnit.MILLISECONDS.toNanos(200);
      fleet.run(TimeUnit.SECONDS.toNanos(5), tick, report);
      b.kill();
      fleet.run(TimeUnit.SECONDS.toNanos(15), tick, report);

      List<RlqsFleet.Window> windows = fleet.windows();
      StringBuilder all = new StringBuilder();
      for (RlqsFleet.Window w : windows) {
        all.append(w).append('\n');
      }
      System.out.println("admitted per window (limit " + LIMIT + "):\n" + all);
      for (RlqsFleet.Window w : windows) {
        assertTrue(w.admitted() <= LIMIT + w.changeAllowance(),
            "over the limit plus the change allowance:\n" + all);
      }
      assertTrue(fleet.reconnects() >= 2, "proxies of the killed member did not reconnect");
      // After the failover every proxy is served by the survivor again.
      RlqsFleet.Window last = windows.get(windows.size() - 1);
      assertTrue(last.admitted() >= LIMIT / 2, "the fleet did not recover:\n" + all);
      for (RlqsFleet.Entry e : fleet.entries()) {
        assertTrue(e.proxy.grant(W) > 0, e.proxy.name + " holds no assignment:\n" + all);
      }
    } finally {
      for (RlqsProxy p : proxies) {
        p.close();
      }
    }
  }
}
