package io.tollgate.limiter.algorithm;

/**
 * A sliding window that never admits more than the limit in any span of one window length.
 *
 * <h2>Implementation notes</h2>
 * The window is cut into {@value #SLOTS} slots of {@code window / SLOTS}; the state is a ring of
 * {@code SLOTS + 1} slot counts and the index of the newest slot. A request at time t counts every
 * unit in the current slot and the {@code SLOTS} slots before it. That set of slots covers the
 * whole span {@code (t - window, t]}, so the sum is an upper bound of the units in that span and
 * admitting only while {@code sum + permits <= limit} holds the limit in every window-length span
 * exactly, with no 2x burst at window edges (the weakness of {@link FixedWindow}).
 *
 * <p>The price is being conservative by at most one slot: a unit stops counting between
 * {@code window} and {@code window * (1 + 1/SLOTS)} after it was admitted. The common
 * "weighted previous window" approximation is cheaper but can admit close to 2x the limit in one
 * window length when traffic bunches at the end of a window; this one cannot.
 *
 * <p>A clock that steps back (another member's clock behind this one's) is treated as standing
 * still at the newest slot seen, so units are never counted in a slot that has already expired.
 */
public final class SlidingWindow implements LimitAlgorithm {

  /** Slots per window. */
  public static final int SLOTS = 10;

  private static final int RING = SLOTS + 1;

  private final long limit;
  private final long windowNanos;
  private final long slotNanos;

  /**
   * @param limit units per window, zero or more
   * @param windowNanos the window length; a positive multiple of {@value #SLOTS}
   */
  public SlidingWindow(long limit, long windowNanos) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0, was " + limit);
    }
    if (windowNanos <= 0 || windowNanos % SLOTS != 0) {
      throw new IllegalArgumentException(
          "windowNanos must be a positive multiple of " + SLOTS + ", was " + windowNanos);
    }
    this.limit = limit;
    this.windowNanos = windowNanos;
    this.slotNanos = windowNanos / SLOTS;
  }

  @Override
  public Kind kind() {
    return Kind.SLIDING_WINDOW;
  }

  @Override
  public long limit() {
    return limit;
  }

  @Override
  public long windowNanos() {
    return windowNanos;
  }

  @Override
  public Decision tryAcquire(LimitState state, long permits, long nowNanos) {
    if (permits < 0) {
      throw new IllegalArgumentException("permits must be >= 0, was " + permits);
    }
    long slot = advance(state, Math.floorDiv(nowNanos, slotNanos));
    long[] ring = state.slots;
    long used = 0;
    for (long c : ring) {
      used += c;
    }
    long available = Math.max(0, limit - used);
    if (permits > available) {
      return new Decision(false, permits, limit, available, retryAfter(state, permits, available,
          nowNanos), slot);
    }
    ring[ringIndex(slot)] += permits;
    long remaining = available - permits;
    return new Decision(true, permits, limit, remaining, untilOldestExpires(state, nowNanos), slot);
  }

  @Override
  public boolean refund(LimitState state, Decision decision, long nowNanos) {
    long slot = decision.receipt();
    long newest = Math.max(state.mark, Math.floorDiv(nowNanos, slotNanos));
    if (!decision.allowed() || decision.permits() == 0 || state.slots == null
        || slot <= newest - RING || slot > state.mark) {
      return false;
    }
    int i = ringIndex(slot);
    state.slots[i] = Math.max(0, state.slots[i] - decision.permits());
    return true;
  }

  @Override
  public long ttlNanos(LimitState state, long nowNanos) {
    if (state.mark == LimitState.UNSET) {
      return 0;
    }
    return Math.max(0, (state.mark + RING) * slotNanos - nowNanos);
  }

  /** Moves the ring forward to {@code slot} and returns the slot to count in. */
  private long advance(LimitState state, long slot) {
    if (state.slots == null || state.mark == LimitState.UNSET) {
      state.slots = new long[RING];
      state.mark = slot;
      return slot;
    }
    if (slot <= state.mark) {
      return state.mark;
    }
    if (slot - state.mark >= RING) {
      java.util.Arrays.fill(state.slots, 0);
    } else {
      for (long s = state.mark + 1; s <= slot; s++) {
        state.slots[ringIndex(s)] = 0;
      }
    }
    state.mark = slot;
    return slot;
  }

  /** Time until enough of the oldest slots drop out for {@code permits} to fit. */
  private long retryAfter(LimitState state, long permits, long available, long nowNanos) {
    if (permits > limit) {
      return windowNanos;
    }
    long freed = available;
    for (long s = state.mark - SLOTS; s <= state.mark; s++) {
      freed += state.slots[ringIndex(s)];
      if (freed >= permits) {
        return Math.max(1, (s + RING) * slotNanos - nowNanos);
      }
    }
    return windowNanos;
  }

  private long untilOldestExpires(LimitState state, long nowNanos) {
    for (long s = state.mark - SLOTS; s <= state.mark; s++) {
      if (state.slots[ringIndex(s)] != 0) {
        return Math.max(1, (s + RING) * slotNanos - nowNanos);
      }
    }
    return windowNanos;
  }

  private static int ringIndex(long slot) {
    return (int) Math.floorMod(slot, (long) RING);
  }
}
