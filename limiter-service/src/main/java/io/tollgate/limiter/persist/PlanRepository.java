package io.tollgate.limiter.persist;

import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Usage plans created through the admin API, with their stages and method throttles. Plans
 * declared in the YAML config are not stored here; every plan loaded from here has {@code
 * declared = false}. Each method is one transaction.
 */
public final class PlanRepository {

  // One statement reads a plan with its stages and methods, so it sees one committed version.
  private static final String SELECT = "SELECT p.id, p.name, p.description,"
      + " p.throttle_rate, p.throttle_burst,"
      + " p.quota_limit, p.quota_period, p.quota_offset, p.quota_time_zone,"
      + " s.api, s.stage, m.method_key, m.rate, m.burst"
      + " FROM tollgate_plan p"
      + " LEFT JOIN tollgate_plan_stage s ON s.plan_id = p.id"
      + " LEFT JOIN tollgate_plan_method m"
      + " ON m.plan_id = s.plan_id AND m.api = s.api AND m.stage = s.stage";
  private static final String ORDER = " ORDER BY p.id, s.stage_order, m.method_key";

  private static final String MERGE_PLAN = "MERGE INTO tollgate_plan t"
      + " USING (VALUES (CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR),"
      + " CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT), CAST(? AS BIGINT),"
      + " CAST(? AS VARCHAR), CAST(? AS INTEGER), CAST(? AS VARCHAR)))"
      + " AS s (id, name, description, throttle_rate, throttle_burst,"
      + " quota_limit, quota_period, quota_offset, quota_time_zone)"
      + " ON t.id = s.id"
      + " WHEN MATCHED THEN UPDATE SET name = s.name, description = s.description,"
      + " throttle_rate = s.throttle_rate, throttle_burst = s.throttle_burst,"
      + " quota_limit = s.quota_limit, quota_period = s.quota_period,"
      + " quota_offset = s.quota_offset, quota_time_zone = s.quota_time_zone,"
      + " updated_at = CURRENT_TIMESTAMP"
      + " WHEN NOT MATCHED THEN INSERT (id, name, description, throttle_rate, throttle_burst,"
      + " quota_limit, quota_period, quota_offset, quota_time_zone, created_at, updated_at)"
      + " VALUES (s.id, s.name, s.description, s.throttle_rate, s.throttle_burst,"
      + " s.quota_limit, s.quota_period, s.quota_offset, s.quota_time_zone,"
      + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)";

  private final Database database;

  PlanRepository(Database database) {
    this.database = database;
  }

  /** Every stored plan, keyed by id. */
  public Map<String, UsagePlan> loadAll() {
    return database.transaction("load plans", c -> {
      try (PreparedStatement ps = c.prepareStatement(SELECT + ORDER)) {
        return read(ps);
      }
    });
  }

  /** The plan with this id, or {@code null} when none is stored. */
  public UsagePlan load(String id) {
    Objects.requireNonNull(id, "id");
    return database.transaction("load plan " + id, c -> {
      try (PreparedStatement ps = c.prepareStatement(SELECT + " WHERE p.id = ?" + ORDER)) {
        ps.setString(1, id);
        return read(ps).get(id);
      }
    });
  }

  /** The ids of every stored plan. */
  public Set<String> ids() {
    return database.transaction("list plans", c -> {
      Set<String> out = new TreeSet<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM tollgate_plan");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return Collections.unmodifiableSet(out);
    });
  }

  /**
   * Inserts the plan, or replaces the stored one with the same id: its fields, stages and method
   * throttles all become the given ones. Its creation time is kept; its update time is now.
   */
  public void store(UsagePlan plan) {
    Objects.requireNonNull(plan, "plan");
    database.transaction("store plan " + plan.id(), c -> {
      mergePlan(c, plan);
      try (PreparedStatement ps =
          c.prepareStatement("DELETE FROM tollgate_plan_stage WHERE plan_id = ?")) {
        ps.setString(1, plan.id());
        ps.executeUpdate();
      }
      insertStages(c, plan);
      return null;
    });
  }

  /** Deletes the plan with its stages and method throttles; nothing happens if it is absent. */
  public void delete(String id) {
    Objects.requireNonNull(id, "id");
    database.transaction("delete plan " + id, c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM tollgate_plan WHERE id = ?")) {
        ps.setString(1, id);
        ps.executeUpdate();
      }
      return null;
    });
  }

  private static void mergePlan(Connection c, UsagePlan plan) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(MERGE_PLAN)) {
      ps.setString(1, plan.id());
      ps.setString(2, plan.name());
      ps.setString(3, plan.description());
      Throttle throttle = plan.throttle();
      if (throttle == null) {
        ps.setNull(4, Types.DOUBLE);
        ps.setNull(5, Types.BIGINT);
      } else {
        ps.setDouble(4, throttle.rate());
        ps.setLong(5, throttle.burst());
      }
      Quota quota = plan.quota();
      if (quota == null) {
        ps.setNull(6, Types.BIGINT);
        ps.setNull(7, Types.VARCHAR);
        ps.setNull(8, Types.INTEGER);
        ps.setNull(9, Types.VARCHAR);
      } else {
        ps.setLong(6, quota.limit());
        ps.setString(7, quota.period().name());
        ps.setInt(8, quota.offset());
        ps.setString(9, quota.zone().getId());
      }
      ps.executeUpdate();
    }
  }

  private static void insertStages(Connection c, UsagePlan plan) throws SQLException {
    if (plan.apiStages().isEmpty()) {
      return;
    }
    boolean anyMethods = false;
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO tollgate_plan_stage"
        + " (plan_id, api, stage, stage_order) VALUES (?, ?, ?, ?)")) {
      int order = 0;
      for (ApiStage stage : plan.apiStages()) {
        ps.setString(1, plan.id());
        ps.setString(2, stage.api());
        ps.setString(3, stage.stage());
        ps.setInt(4, order++);
        ps.addBatch();
        anyMethods |= !stage.methods().isEmpty();
      }
      ps.executeBatch();
    }
    if (!anyMethods) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO tollgate_plan_method"
        + " (plan_id, api, stage, method_key, rate, burst) VALUES (?, ?, ?, ?, ?, ?)")) {
      for (ApiStage stage : plan.apiStages()) {
        for (Map.Entry<String, Throttle> m : new TreeMap<>(stage.methods()).entrySet()) {
          ps.setString(1, plan.id());
          ps.setString(2, stage.api());
          ps.setString(3, stage.stage());
          ps.setString(4, m.getKey());
          ps.setDouble(5, m.getValue().rate());
          ps.setLong(6, m.getValue().burst());
          ps.addBatch();
        }
      }
      ps.executeBatch();
    }
  }

  /** Folds the joined rows (ordered by plan, stage order, method) into plans. */
  private static Map<String, UsagePlan> read(PreparedStatement ps) throws SQLException {
    Map<String, UsagePlan> out = new LinkedHashMap<>();
    try (ResultSet rs = ps.executeQuery()) {
      String planId = null;
      PlanRow row = null;
      // Keyed by List.of(api, stage): "api/stage" could be ambiguous when a name holds a '/'.
      Map<List<String>, Map<String, Throttle>> stageMethods = null;
      List<String[]> stages = null;
      while (rs.next()) {
        String id = rs.getString("id");
        if (!id.equals(planId)) {
          if (row != null) {
            out.put(planId, row.toPlan(stages, stageMethods));
          }
          planId = id;
          row = PlanRow.read(rs);
          stages = new ArrayList<>();
          stageMethods = new HashMap<>();
        }
        String api = rs.getString("api");
        if (api == null) {
          continue;
        }
        String stage = rs.getString("stage");
        List<String> stageId = List.of(api, stage);
        Map<String, Throttle> methods = stageMethods.get(stageId);
        if (methods == null) {
          methods = new HashMap<>();
          stageMethods.put(stageId, methods);
          stages.add(new String[] {api, stage});
        }
        String methodKey = rs.getString("method_key");
        if (methodKey != null) {
          methods.put(methodKey, new Throttle(rs.getDouble("rate"), rs.getLong("burst")));
        }
      }
      if (row != null) {
        out.put(planId, row.toPlan(stages, stageMethods));
      }
    }
    return Collections.unmodifiableMap(out);
  }

  /** A plan's own columns. */
  private record PlanRow(String id, String name, String description, Throttle throttle,
      Quota quota) {

    static PlanRow read(ResultSet rs) throws SQLException {
      Throttle throttle = null;
      double rate = rs.getDouble("throttle_rate");
      if (!rs.wasNull()) {
        throttle = new Throttle(rate, rs.getLong("throttle_burst"));
      }
      Quota quota = null;
      long limit = rs.getLong("quota_limit");
      if (!rs.wasNull()) {
        quota = new Quota(limit, CalendarPeriod.valueOf(rs.getString("quota_period")),
            rs.getInt("quota_offset"), ZoneId.of(rs.getString("quota_time_zone")));
      }
      return new PlanRow(rs.getString("id"), rs.getString("name"), rs.getString("description"),
          throttle, quota);
    }

    UsagePlan toPlan(List<String[]> stages, Map<List<String>, Map<String, Throttle>> methods) {
      List<ApiStage> apiStages = new ArrayList<>(stages.size());
      for (String[] s : stages) {
        apiStages.add(new ApiStage(s[0], s[1], methods.get(List.of(s[0], s[1]))));
      }
      return new UsagePlan(id, name, description, throttle, quota, apiStages, false);
    }
  }
}
