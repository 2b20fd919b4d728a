package io.tollgate.limiter.rlqs;

import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.testing.RlqsFleet;
import io.tollgate.limiter.testing.RlqsProxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Load driver: a simulated fleet of Envoy proxies (the same {@link RlqsProxy} as the tests) against
 * running limiters, in real time, printing what the fleet admitted per window against the limit.
 *
 * <pre>
 * mvn -q -pl limiter-service test-compile dependency:build-classpath \
 *   -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
 * java -cp limiter-service/target/test-classes:limiter-service/target/classes:$(cat \
 *   limiter-service/target/test-classpath.txt) io.tollgate.limiter.rlqs.RlqsFleetMain \
 *   --targets 8081,9081 --domain edge-rlqs --bucket tenant=acme,method=GET --limit 100 \
 *   --window-seconds 1 --demands 10,30,80,150 --report-ms 200 --seconds 20
 * </pre>
 * Proxy {@code i} connects to target {@code i mod n}; when its stream fails it reconnects to the
 * next target. Exits 1 if any window admitted more than the limit plus the change allowance.
 */
public final class RlqsFleetMain {

  private RlqsFleetMain() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new LinkedHashMap<>(Map.of("--targets", "8081", "--domain", "edge",
        "--bucket", "tenant=acme", "--limit", "100", "--window-seconds", "1",
        "--demands", "10,30,80,150", "--report-ms", "200", "--seconds", "20"));
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!a.containsKey(args[i])) {
        System.err.println("unknown flag " + args[i] + "; flags: " + a.keySet());
        System.exit(2);
      }
      a.put(args[i], args[i + 1]);
    }
    List<Integer> targets = new ArrayList<>();
    for (String t : a.get("--targets").split(",")) {
      targets.add(Integer.parseInt(t.trim()));
    }
    Map<String, String> bucket = new LinkedHashMap<>();
    for (String pair : a.get("--bucket").split(",")) {
      String[] kv = pair.split("=", 2);
      bucket.put(kv[0].trim(), kv.length > 1 ? kv[1].trim() : "");
    }
    long limit = Long.parseLong(a.get("--limit"));
    long window = TimeUnit.SECONDS.toNanos(Long.parseLong(a.get("--window-seconds")));
    RlqsFleet fleet = new RlqsFleet(WallClock.SYSTEM, window);
    List<RlqsProxy> proxies = new ArrayList<>();
    String[] demands = a.get("--demands").split(",");
    for (int i = 0; i < demands.length; i++) {
      RlqsProxy p = new RlqsProxy("proxy-" + i, targets.get(i % targets.size()),
          a.get("--domain"), bucket, WallClock.SYSTEM);
      proxies.add(p);
      fleet.add(p, Double.parseDouble(demands[i]));
    }
    int[] next = {0};
    fleet.failover(() -> targets.get(next[0]++ % targets.size()));
    fleet.run(TimeUnit.SECONDS.toNanos(Long.parseLong(a.get("--seconds"))),
        TimeUnit.MILLISECONDS.toNanos(10),
        TimeUnit.MILLISECONDS.toNanos(Long.parseLong(a.get("--report-ms"))));
    boolean over = false;
    System.out.printf("%-24s %9s %9s %9s %9s%n", "window start (epoch ns)", "offered", "admitted",
        "limit", "allowance");
    for (RlqsFleet.Window w : fleet.windows()) {
      boolean bad = w.admitted() > limit + w.changeAllowance();
      over |= bad;
      System.out.printf("%-24d %9d %9d %9d %9d%s%n", w.start(), w.offered(), w.admitted(), limit,
          w.changeAllowance(), bad ? "  OVER" : "");
    }
    System.out.println("reconnects: " + fleet.reconnects());
    for (RlqsProxy p : proxies) {
      p.close();
    }
    System.exit(over ? 1 : 0);
  }
}
