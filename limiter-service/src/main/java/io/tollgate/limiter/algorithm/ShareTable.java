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
 * ({@link FairShare}) over the limit, less {@code minShare} kept free while the wants exceed
 * {@code limit - minShare}, so that a new stream can get {@code minShare} at once.
 *
 * <h2>Reconnects</h2>
 * A stream with no grant in force that reports demand, and whose target is more than the room the
 * others' grants in force leave, is <em>deferred</em> ({@link Holder#deferred}) instead of being
 * given that room (often 0 or 1, when its own ghost grant fills it): it gets no grant in force, and
 * the service sends nothing for it, so its proxy keeps its cached assignment. The deferral ends at
 * the first report where the room covers the target, and at the latest one TTL after it began (by
 * then every grant in force when it began has expired, the ghost included); the stream then gets
 * {@code min(target, room)}. A stream reporting no demand (a new bucket's first report) is never
 * deferred: it gets {@code min(target, room)}, at least the floor when the floor is free.
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
   * @param expiresAt when the grant stops being in force, epoch nanoseconds; for a deferred
   *     holder, when its entry (and its want) is dropped unless it reports again
   * @param deferredUntil 0, or for a deferred holder when its deferral ends at the latest. A
   *     deferred grant is held back: a stream with no grant in force whose fair
   *     share is held down by the other streams' grants in force (typically its own ghost: the
   *     grant of the stream its proxy used before reconnecting). A deferred grant is NOT in force:
   *     it does not count toward the limit and must not be sent; the proxy keeps the assignment it
   *     has cached, which is accounted under its old stream until that expires. It is the share
   *     the stream will get once there is room, and its want counts in the division at once, so
   *     the others are lowered at their next reports.
   */
  public record Holder(long demand, long grant, long expiresAt, long deferredUntil) {

    /** A holder whose grant is in force until {@code expiresAt}. */
    public Holder(long demand, long grant, long expiresAt) {
      this(demand, grant, expiresAt, 0);
    }

    /** Whether the grant is held back (see {@code deferredUntil}). */
    public boolean deferred() {
      return deferredUntil != 0;
    }
  }

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

  /**
   * The demand of a report that gives no estimate (Envoy's {@code time_elapsed} of 0 s: a new
   * bucket's first report, or one created less than a second before the tick): the stream keeps
   * its estimate, or has demand 0 when new.
   */
  public static final long NO_ESTIMATE = -1;

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
   * {@code now + ttlNanos}; or a deferred holder ({@link Holder#deferred}), whose grant is not in
   * force and must not be sent.
   *
   * @param stream the reporting stream's id
   * @param demandPerWindow the demand its report shows, units per window (allowed plus denied,
   *     scaled from the report's elapsed time to one window), or {@link #NO_ESTIMATE}
   * @param nowNanos the current time
   */
  public Holder report(String stream, long demandPerWindow, long nowNanos, Params p) {
    if (demandPerWindow < 0 && demandPerWindow != NO_ESTIMATE) {
      throw new IllegalArgumentException("demand " + demandPerWindow + " is negative");
    }
    expire(nowNanos, stream);
    Holder previous = holders.get(stream);
    boolean known = previous != null && previous.expiresAt() > nowNanos;
    boolean inForce = known && !previous.deferred();
    boolean stillDeferred = known && previous.deferred() && previous.deferredUntil() > nowNanos;
    boolean deferralOver = known && previous.deferred() && !stillDeferred;
    // Up at once, down by halves: a burst is served quickly, a lull does not drop the grant at once.
    long demand = demandPerWindow == NO_ESTIMATE ? (known ? previous.demand() : 0)
        : known ? Math.max(demandPerWindow, previous.demand() / 2 + demandPerWindow / 2)
        : demandPerWindow;
    long oldGrant = inForce ? previous.grant() : 0;
    // While the division runs, the entry holds no grant in force.
    holders.put(stream, inForce ? new Holder(demand, oldGrant, previous.expiresAt())
        : new Holder(demand, 0, known ? previous.expiresAt() : nowNanos, 0));

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
    // Keep the floor free whenever the wants leave less than it, so a new stream gets it at once.
    long capacity = wanted > p.limit() - p.minShare() && p.limit() > p.minShare()
        ? p.limit() - p.minShare() : p.limit();
    long target = FairShare.divide(capacity, wants)[self];

    long othersInForce = 0;
    for (Map.Entry<String, Holder> e : holders.entrySet()) {
      if (!e.getKey().equals(stream) && e.getValue().expiresAt() > nowNanos
          && !e.getValue().deferred()) {
        othersInForce = saturatedAdd(othersInForce, e.getValue().grant());
      }
    }
    long room = Math.max(0, p.limit() - othersInForce);
    if (!inForce && !deferralOver && target > room && (stillDeferred || demandPerWindow > 0)) {
      // Held down by grants in force (its own ghost after a reconnect): defer rather than hand out
      // less than the proxy already holds. The deferral ends one TTL after it began.
      long until = stillDeferred ? previous.deferredUntil() : nowNanos + p.ttlNanos();
      Holder deferred = new Holder(demand, target, nowNanos + p.ttlNanos(), until);
      holders.put(stream, deferred);
      return deferred;
    }
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
      if (h.expiresAt() > nowNanos && !h.deferred()) {
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
