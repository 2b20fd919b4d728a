package io.tollgate.gateway;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;

/**
 * One stage's response cache: Caffeine, bounded by bytes ({@code capacity_mb}) and evicting by
 * size and frequency (W-TinyLFU), each entry with its own TTL (the route's or the stage's).
 *
 * <p>An entry weighs its body plus its headers plus a fixed overhead, so many tiny entries cannot
 * exceed the capacity either.
 */
public final class StageCache {

  /** Bytes counted for an entry besides its body and headers (key, objects, map slot). */
  static final int ENTRY_OVERHEAD_BYTES = 256;

  /**
   * A cached response.
   *
   * @param status the upstream's status
   * @param headers the upstream's end-to-end headers, as name/value pairs
   * @param body the whole body
   * @param ttlNanos how long it may be served
   */
  public record Entry(int status, String[] headers, byte[] body, long ttlNanos) {
    int weight() {
      long w = ENTRY_OVERHEAD_BYTES + body.length;
      for (String h : headers) {
        w += h.length();
      }
      return (int) Math.min(Integer.MAX_VALUE, w);
    }
  }

  private final long capacityBytes;
  private final Cache<String, Entry> cache;

  /** An empty cache of {@code capacityBytes}; {@code ticker} is the clock of its TTLs. */
  public StageCache(long capacityBytes, Ticker ticker) {
    this.capacityBytes = capacityBytes;
    this.cache = Caffeine.newBuilder()
        .maximumWeight(capacityBytes)
        .weigher((String k, Entry v) -> v.weight() + 2 * k.length())
        .expireAfter(new Expiry<String, Entry>() {
          @Override
          public long expireAfterCreate(String key, Entry value, long currentTime) {
            return value.ttlNanos();
          }

          @Override
          public long expireAfterUpdate(String key, Entry value, long currentTime,
              long currentDuration) {
            return value.ttlNanos();
          }

          @Override
          public long expireAfterRead(String key, Entry value, long currentTime,
              long currentDuration) {
            return currentDuration;
          }
        })
        .ticker(ticker)
        // Evictions run on the calling thread: no hop to the common pool (one core here).
        .executor(Runnable::run)
        .build();
  }

  public long capacityBytes() {
    return capacityBytes;
  }

  /** The live entry of {@code key}, or null. */
  public Entry get(String key) {
    return cache.getIfPresent(key);
  }

  /** Stores (or replaces) an entry. */
  public void put(String key, Entry entry) {
    cache.put(key, entry);
  }

  /** Drops every entry. */
  public void flush() {
    cache.invalidateAll();
  }

  /** Entries now held (approximate while evictions are pending). */
  public long size() {
    return cache.estimatedSize();
  }
}
