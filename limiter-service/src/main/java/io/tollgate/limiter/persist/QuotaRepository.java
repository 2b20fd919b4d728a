package io.tollgate.limiter.persist;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Quota counters and daily usage, per plan and key. {@link #load} runs on partition threads (two
 * indexed reads), {@link #storeAll} on the grid's write-behind thread (one transaction of
 * batched upserts). Each method is one transaction.
 */
public final class QuotaRepository {

  /** How many of the most recent days with usage {@link #load} returns. */
  public static final int LOADED_DAYS = 7;

  // IN lists are cut into chunks of this many keys, well below any driver's parameter limit.
  private static final int KEYS_PER_QUERY = 500;

  private static final String MERGE_COUNTER = "MERGE INTO tollgate_quota_counter t"
      + " USING (VALUES (CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS BIGINT),"
      + " CAST(? AS BIGINT))) AS s (plan_id, key_id, period_start, used)"
      + " ON t.plan_id = s.plan_id AND t.key_id = s.key_id"
      + " WHEN MATCHED THEN UPDATE SET period_start = s.period_start, used = s.used"
      + " WHEN NOT MATCHED THEN INSERT (plan_id, key_id, period_start, used)"
      + " VALUES (s.plan_id, s.key_id, s.period_start, s.used)";

  private static final String MERGE_DAY = "MERGE INTO tollgate_daily_usage t"
      + " USING (VALUES (CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS DATE),"
      + " CAST(? AS BIGINT))) AS s (plan_id, key_id, usage_day, requests)"
      + " ON t.plan_id = s.plan_id AND t.key_id = s.key_id AND t.usage_day = s.usage_day"
      + " WHEN MATCHED THEN UPDATE SET requests = s.requests"
      + " WHEN NOT MATCHED THEN INSERT (plan_id, key_id, usage_day, requests)"
      + " VALUES (s.plan_id, s.key_id, s.usage_day, s.requests)";

  private final Database database;

  QuotaRepository(Database database) {
    this.database = database;
  }

  /**
   * The key's counter in the plan with its {@value #LOADED_DAYS} most recent days with usage, or
   * {@code null} when neither a counter nor any day is stored. Days without a counter come with
   * {@code periodStart} and {@code used} 0.
   */
  public QuotaRecord load(String planId, String keyId) {
    Objects.requireNonNull(planId, "planId");
    Objects.requireNonNull(keyId, "keyId");
    return database.transaction("load quota " + planId + "/" + keyId, c -> {
      boolean found = false;
      long periodStart = 0;
      long used = 0;
      try (PreparedStatement ps = c.prepareStatement("SELECT period_start, used"
          + " FROM tollgate_quota_counter WHERE plan_id = ? AND key_id = ?")) {
        ps.setString(1, planId);
        ps.setString(2, keyId);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            found = true;
            periodStart = rs.getLong(1);
            used = rs.getLong(2);
          }
        }
      }
      SortedMap<Long, Long> days = new TreeMap<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT usage_day, requests"
          + " FROM tollgate_daily_usage WHERE plan_id = ? AND key_id = ?"
          + " ORDER BY usage_day DESC FETCH FIRST " + LOADED_DAYS + " ROWS ONLY")) {
        ps.setString(1, planId);
        ps.setString(2, keyId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            days.put(rs.getObject(1, LocalDate.class).toEpochDay(), rs.getLong(2));
          }
        }
      }
      if (!found && days.isEmpty()) {
        return null;
      }
      return new QuotaRecord(planId, keyId, periodStart, used, days);
    });
  }

  /**
   * Inserts or replaces every record's counter, and each of its days: a day's stored count
   * becomes the given one (it is not added to). All in one transaction: when one row fails,
   * none is kept.
   */
  public void storeAll(Collection<QuotaRecord> records) {
    Objects.requireNonNull(records, "records");
    if (records.isEmpty()) {
      return;
    }
    database.transaction("store " + records.size() + " quota counters", c -> {
      boolean anyDays = false;
      try (PreparedStatement ps = c.prepareStatement(MERGE_COUNTER)) {
        for (QuotaRecord r : records) {
          ps.setString(1, r.planId());
          ps.setString(2, r.keyId());
          ps.setLong(3, r.periodStart());
          ps.setLong(4, r.used());
          ps.addBatch();
          anyDays |= !r.days().isEmpty();
        }
        ps.executeBatch();
      }
      if (anyDays) {
        try (PreparedStatement ps = c.prepareStatement(MERGE_DAY)) {
          for (QuotaRecord r : records) {
            for (Map.Entry<Long, Long> day : r.days().entrySet()) {
              ps.setString(1, r.planId());
              ps.setString(2, r.keyId());
              ps.setObject(3, LocalDate.ofEpochDay(day.getKey()));
              ps.setLong(4, day.getValue());
              ps.addBatch();
            }
          }
          ps.executeBatch();
        }
      }
      return null;
    });
  }

  /** Deletes the key's counter in the plan and all its daily usage there. */
  public void delete(String planId, String keyId) {
    Objects.requireNonNull(planId, "planId");
    Objects.requireNonNull(keyId, "keyId");
    database.transaction("delete quota " + planId + "/" + keyId, c -> {
      for (String table : List.of("tollgate_quota_counter", "tollgate_daily_usage")) {
        try (PreparedStatement ps = c.prepareStatement(
            "DELETE FROM " + table + " WHERE plan_id = ? AND key_id = ?")) {
          ps.setString(1, planId);
          ps.setString(2, keyId);
          ps.executeUpdate();
        }
      }
      return null;
    });
  }

  /**
   * The stored requests per day of the plan's keys from {@code from} to {@code to}, both
   * inclusive. Only stored days appear (no zeros), and only keys with at least one of them.
   *
   * @param keyIds the keys to report; {@code null} for every key with usage in the range
   * @return key id to (day to requests), both in ascending order
   */
  public Map<String, SortedMap<LocalDate, Long>> dailyUsage(String planId,
      Collection<String> keyIds, LocalDate from, LocalDate to) {
    Objects.requireNonNull(planId, "planId");
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
    List<List<String>> chunks = new ArrayList<>();
    if (keyIds == null) {
      chunks.add(null);
    } else {
      List<String> all = List.copyOf(keyIds);
      for (int i = 0; i < all.size(); i += KEYS_PER_QUERY) {
        chunks.add(all.subList(i, Math.min(all.size(), i + KEYS_PER_QUERY)));
      }
    }
    return database.transaction("read daily usage of plan " + planId, c -> {
      Map<String, SortedMap<LocalDate, Long>> out = new TreeMap<>();
      for (List<String> chunk : chunks) {
        StringBuilder sql = new StringBuilder("SELECT key_id, usage_day, requests"
            + " FROM tollgate_daily_usage WHERE plan_id = ? AND usage_day BETWEEN ? AND ?");
        if (chunk != null) {
          sql.append(" AND key_id IN (");
          for (int i = 0; i < chunk.size(); i++) {
            sql.append(i == 0 ? "?" : ", ?");
          }
          sql.append(')');
        }
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
          ps.setString(1, planId);
          ps.setObject(2, from);
          ps.setObject(3, to);
          if (chunk != null) {
            for (int i = 0; i < chunk.size(); i++) {
              ps.setString(4 + i, chunk.get(i));
            }
          }
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.computeIfAbsent(rs.getString(1), k -> new TreeMap<>())
                  .put(rs.getObject(2, LocalDate.class), rs.getLong(3));
            }
          }
        }
      }
      return Collections.unmodifiableMap(out);
    });
  }
}
