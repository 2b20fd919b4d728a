package io.tollgate.limiter.algorithm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The division of one limit among the streams that report for it (Envoy's Rate Limit Quota
 * Service): each stream holds a grant, a whole number of units per window that its proxy may admit,
 * until the grant's expiry.
 *
 * <h2>Invariant</h2>
 * The grants in force (not yet expired) never sum to more than the limit. Only the reporting
 * stream's grant changes in {@link #report}: it is lowered at once when its fair target is lower,
 * and raised only as far as the limit minus the other streams' grants in force allows. So when
 * shares move, a stream rises only after the others have been lowered (at their own next reports)
 * or their grants have expired: lower before raise.
 *
 * <h2>Targets</h2>
 * A stream's want is {@code max(minShare, ceil(demand * (100 + headroomPercent) / 100))}, with
 * demand in units per window estimated from its reports. Wants are divided max-min fair
 * ({@link FairShare}) over the limit, less {@code minShare} kept free while the wants exceed the
 * limit, so that a new stream can get {@code minShare} at once.
 *
 * <p>Mutable and not thread-safe: the grid changes one instance only inside an entry processor
 * on the key's owner. Pure: time is passed in.
 */
public final class ShareTable {

  /**
   * One stream's entry.
   *
   * @param demand estimated demand, units per window
   * @param grant units per window the stream may admit until {@code expiresAt}
   * @param expiresAt when the grant stops being in force, epoch nanoseconds
   */
  public record Holder(long demand, long grant, long expiresAt) {}

  /**
   * The parameters of one report.
   *
   * @param limit units per window to divide
   * @param minShare the floor of every stream's want
   * @param ttlNanos how long the grant handed out now stays in force
   * @param headroomPercent how far above its demand a stream's want is set
   * @param tolerancePercent a grant changes only when the new one differs by at least this share
   *     of the old (and at least one unit), so that small demand changes do not restart the
   *     proxy's bucket
   */
  public record Params(long limit, long minShare, long ttlNanos, int headroomPercent,
      int tolerancePercent) {
    public Params {
      if (limit < 0 || minShare < 0 || ttlNanos <= 0 || headroomPercent < 0
          || tolerancePercent < 0) {
        throw new IllegalArgumentException("bad share parameters: limit " + limit
            + ", minShare " + minShare + ", ttlNanos " + ttlNanos + ", headroom "
            + headroomPercent + ", tolerance " + tolerancePercent);
      }
    }
  }

  private final TreeMap<String, Holder> holders;

  /** An empty table. */
  public ShareTable() {
    this.holders = new TreeMap<>();
  }

  /** A table with these entries (for deserialization and copies). */
  public ShareTable(Map<String, Holder> holders) {
    this.holders = new TreeMap<>(holders);
  }

  /** A copy. */
  public ShareTable copy() {
    return new ShareTable(holders);
  }

  /** The entries, by stream id; read-only. */
  public Map<String, Holder> holders() {
    return Collections.unmodifiableMap(holders);
  }

  /**
   * Records a stream's report and returns the grant it gets now, in force until
   * {@code now + ttlNanos}.
   *
   * @param stream the reporting stream's id
   * @param demandPerWindow the demand its report shows, units per window (allowed plus denied,
   *     scaled from the report's elapsed time to one window)
   * @param nowNanos the current time
   */
  public Holder report(String stream, long demandPerWindow, long nowNanos, Params p) {
    if (demandPerWindow < 0) {
      throw new IllegalArgumentException("demand " + demandPerWindow + " is negative");
    }
    expire(nowNanos, stream);
    Holder previous = holders.get(stream);
    boolean inForce = previous != null && previous.expiresAt() > nowNanos;
    // Up at once, down by halves: a burst is served quickly, a lull does not drop the grant at once.
    long demand = inForce ? Math.max(demandPerWindow,
        previous.demand() / 2 + demandPerWindow / 2) : demandPerWindow;
    long oldGrant = inForce ? previous.grant() : 0;
    holders.put(stream, new Holder(demand, oldGrant, inForce ? previous.expiresAt() : nowNanos));

    List<String> ids = new ArrayList<>(holders.keySet());
    long[] wants = new long[ids.size()];
    long wanted = 0;
    int self = -1;
    for (int i = 0; i < ids.size(); i++) {
      wants[i] = want(holders.get(ids.get(i)).demand(), p);
      wanted = saturatedAdd(wanted, wants[i]);
      if (ids.get(i).equals(stream)) {
        self = i;
      }
    }
    long capacity = wanted > p.limit() && p.limit() > p.minShare()
        ? p.limit() - p.minShare() : p.limit();
    long target = FairShare.divide(capacity, wants)[self];

    long othersInForce = 0;
    for (Map.Entry<String, Holder> e : holders.entrySet()) {
      if (!e.getKey().equals(stream) && e.getValue().expiresAt() > nowNanos) {
        othersInForce = saturatedAdd(othersInForce, e.getValue().grant());
      }
    }
    long room = Math.max(0, p.limit() - othersInForce);
    long grant = Math.min(target, room);
    if (inForce && oldGrant <= room) {
      long tolerance = Math.max(1, oldGrant * p.tolerancePercent() / 100);
      if (Math.abs(grant - oldGrant) < tolerance) {
        grant = oldGrant;
      }
    }
    Holder now = new Holder(demand, grant, nowNanos + p.ttlNanos());
    holders.put(stream, now);
    return now;
  }

  /**
   * Removes a stream's entry at once: for a bucket its proxy has been told to abandon.
   *
   * @return whether there was one
   */
  public boolean release(String stream) {
    return holders.remove(stream) != null;
  }

  /** Drops expired entries. */
  public void expire(long nowNanos) {
    expire(nowNanos, null);
  }

  private void expire(long nowNanos, String keep) {
    holders.entrySet().removeIf(e -> e.getValue().expiresAt() <= nowNanos
        && !e.getKey().equals(keep));
  }

  /** The sum of the grants in force at {@code nowNanos}. */
  public long inForce(long nowNanos) {
    long sum = 0;
    for (Holder h : holders.values()) {
      if (h.expiresAt() > nowNanos) {
        sum = saturatedAdd(sum, h.grant());
      }
    }
    return sum;
  }

  /** The latest expiry of any entry, or {@code Long.MIN_VALUE} when empty. */
  public long lastExpiry() {
    long last = Long.MIN_VALUE;
    for (Holder h : holders.values()) {
      last = Math.max(last, h.expiresAt());
    }
    return last;
  }

  private static long want(long demand, ShareTable.Params p) {
    long scaled = demand > Long.MAX_VALUE / 200 ? Long.MAX_VALUE / 2
        : (demand * (100 + p.headroomPercent()) + 99) / 100;
    return Math.max(p.minShare(), scaled);
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }
}
