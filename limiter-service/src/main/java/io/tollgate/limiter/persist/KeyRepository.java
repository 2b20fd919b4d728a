package io.tollgate.limiter.persist;

import io.tollgate.limiter.plan.ApiKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.LongAdder;

/**
 * API keys created through the admin API, keyed by the hash of their value (checks look a key up
 * by the hash of the value presented), with the plans each is in. Keys declared in the YAML
 * config are not stored here; every key loaded from here has {@code declared = false}. Each
 * method is one transaction.
 *
 * <p>{@link ApiKey#createdAt()} is stored to the microsecond (what both databases keep): a key
 * loaded back has its creation time truncated to microseconds.
 */
public final class KeyRepository {

  // One statement reads a key with its plans, so it sees one committed version.
  private static final String SELECT = "SELECT k.hash, k.id, k.name, k.enabled, k.created_at,"
      + " p.plan_id"
      + " FROM tollgate_api_key k"
      + " LEFT JOIN tollgate_key_plan p ON p.key_hash = k.hash";
  private static final String ORDER = " ORDER BY k.hash, p.plan_id";

  private static final String MERGE_KEY = "MERGE INTO tollgate_api_key t"
      + " USING (VALUES (CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR),"
      + " CAST(? AS BOOLEAN), CAST(? AS TIMESTAMP WITH TIME ZONE)))"
      + " AS s (hash, id, name, enabled, created_at)"
      + " ON t.hash = s.hash"
      + " WHEN MATCHED THEN UPDATE SET id = s.id, name = s.name, enabled = s.enabled,"
      + " created_at = s.created_at"
      + " WHEN NOT MATCHED THEN INSERT (hash, id, name, enabled, created_at)"
      + " VALUES (s.hash, s.id, s.name, s.enabled, s.created_at)";

  private final Database database;
  private final LongAdder lookups = new LongAdder();

  KeyRepository(Database database) {
    this.database = database;
  }

  /** How many times {@link #load} read one key from the database. */
  public long lookups() {
    return lookups.sum();
  }

  /** Every stored key, keyed by hash. */
  public Map<String, ApiKey> loadAll() {
    return database.transaction("load keys", c -> {
      try (PreparedStatement ps = c.prepareStatement(SELECT + ORDER)) {
        return read(ps);
      }
    });
  }

  /** The key with this hash, or {@code null} when none is stored. */
  public ApiKey load(String hash) {
    Objects.requireNonNull(hash, "hash");
    lookups.increment();
    return database.transaction("load key", c -> {
      try (PreparedStatement ps = c.prepareStatement(SELECT + " WHERE k.hash = ?" + ORDER)) {
        ps.setString(1, hash);
        return read(ps).get(hash);
      }
    });
  }

  /** The hashes of every stored key. */
  public Set<String> hashes() {
    return database.transaction("list keys", c -> {
      Set<String> out = new TreeSet<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT hash FROM tollgate_api_key");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return Collections.unmodifiableSet(out);
    });
  }

  /**
   * Inserts the key, or replaces the stored one with the same hash, with its plans: afterwards the
   * key is in exactly {@link ApiKey#planIds()}.
   *
   * @throws PersistenceException also when another key (another hash) has the same id
   */
  public void store(ApiKey key) {
    Objects.requireNonNull(key, "key");
    database.transaction("store key " + key.id(), c -> {
      mergeKey(c, key);
      try (PreparedStatement ps =
          c.prepareStatement("DELETE FROM tollgate_key_plan WHERE key_hash = ?")) {
        ps.setString(1, key.hash());
        ps.executeUpdate();
      }
      if (!key.planIds().isEmpty()) {
        try (PreparedStatement ps = c.prepareStatement(
            "INSERT INTO tollgate_key_plan (key_hash, plan_id) VALUES (?, ?)")) {
          for (String planId : key.planIds()) {
            ps.setString(1, key.hash());
            ps.setString(2, planId);
            ps.addBatch();
          }
          ps.executeBatch();
        }
      }
      return null;
    });
  }

  /** Deletes the key with its plan associations; nothing happens if it is absent. */
  public void delete(String hash) {
    Objects.requireNonNull(hash, "hash");
    database.transaction("delete key", c -> {
      try (PreparedStatement ps =
          c.prepareStatement("DELETE FROM tollgate_api_key WHERE hash = ?")) {
        ps.setString(1, hash);
        ps.executeUpdate();
      }
      return null;
    });
  }

  private static void mergeKey(Connection c, ApiKey key) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(MERGE_KEY)) {
      ps.setString(1, key.hash());
      ps.setString(2, key.id());
      ps.setString(3, key.name());
      ps.setBoolean(4, key.enabled());
      ps.setObject(5, OffsetDateTime.ofInstant(
          key.createdAt().truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC));
      ps.executeUpdate();
    }
  }

  /** Folds the joined rows (ordered by hash) into keys. */
  private static Map<String, ApiKey> read(PreparedStatement ps) throws SQLException {
    Map<String, ApiKey> out = new LinkedHashMap<>();
    try (ResultSet rs = ps.executeQuery()) {
      String hash = null;
      String id = null;
      String name = null;
      boolean enabled = false;
      Instant createdAt = null;
      Set<String> plans = null;
      while (rs.next()) {
        String rowHash = rs.getString("hash");
        if (!rowHash.equals(hash)) {
          if (hash != null) {
            out.put(hash, new ApiKey(id, name, hash, enabled, plans, createdAt, false));
          }
          hash = rowHash;
          id = rs.getString("id");
          name = rs.getString("name");
          enabled = rs.getBoolean("enabled");
          createdAt = rs.getObject("created_at", OffsetDateTime.class).toInstant();
          plans = new TreeSet<>();
        }
        String planId = rs.getString("plan_id");
        if (planId != null) {
          plans.add(planId);
        }
      }
      if (hash != null) {
        out.put(hash, new ApiKey(id, name, hash, enabled, plans, createdAt, false));
      }
    }
    return Collections.unmodifiableMap(out);
  }
}
