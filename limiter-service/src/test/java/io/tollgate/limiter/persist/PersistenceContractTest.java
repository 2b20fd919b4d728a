package io.tollgate.limiter.persist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.plan.ApiKey;
import io.tollgate.limiter.plan.ApiKeys;
import io.tollgate.limiter.plan.ApiStage;
import io.tollgate.limiter.plan.Quota;
import io.tollgate.limiter.plan.Throttle;
import io.tollgate.limiter.plan.UsagePlan;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The repositories' contract, run against every database Tollgate supports: each subclass hands
 * out a fresh empty database.
 */
abstract class PersistenceContractTest {

  /** Settings of a new empty database; each call gives another one. */
  abstract DatabaseSettings newDatabase() throws Exception;

  DatabaseSettings settings;
  Database db;

  @BeforeEach
  void open() throws Exception {
    settings = newDatabase();
    db = Database.open(settings);
  }

  @AfterEach
  void close() {
    if (db != null) {
      db.close();
    }
  }

  // ---- plans

  static UsagePlan gold() {
    return new UsagePlan("gold", "Gold", "For the best customers", new Throttle(12.5, 40),
        new Quota(10_000, CalendarPeriod.MONTH, 3, ZoneId.of("Europe/Paris")),
        List.of(
            new ApiStage("pets", "prod", Map.of(
                "GET /pets/{id}", new Throttle(5.125, 10),
                "POST /pets", new Throttle(1, 1))),
            new ApiStage("orders", "beta", Map.of()),
            new ApiStage("pets", "beta", Map.of("DELETE /pets/{id}", new Throttle(0.5, 2)))),
        false);
  }

  static UsagePlan bare(String id) {
    return new UsagePlan(id, "", "", null, null, List.of(), false);
  }

  @Test
  void plansRoundTrip() {
    UsagePlan gold = gold();
    UsagePlan bare = bare("bare");
    db.plans().store(gold);
    db.plans().store(bare);

    assertEquals(gold, db.plans().load("gold"));
    assertEquals(bare, db.plans().load("bare"));
    assertNull(db.plans().load("absent"));
    assertEquals(Map.of("gold", gold, "bare", bare), db.plans().loadAll());
    assertEquals(Set.of("gold", "bare"), db.plans().ids());
  }

  @Test
  void plansLoadedFromTheDatabaseAreNotDeclared() {
    UsagePlan declared = new UsagePlan("cfg", "n", "d", null, null, List.of(), true);
    db.plans().store(declared);
    assertFalse(db.plans().load("cfg").declared());
  }

  @Test
  void weekAndDayQuotasRoundTrip() {
    UsagePlan week = new UsagePlan("week", "W", "", null,
        new Quota(0, CalendarPeriod.WEEK, 6, ZoneId.of("UTC")), List.of(), false);
    UsagePlan day = new UsagePlan("day", "D", "", new Throttle(0.001, 1),
        new Quota(Long.MAX_VALUE, CalendarPeriod.DAY, 0, ZoneId.of("+05:30")), List.of(), false);
    db.plans().store(week);
    db.plans().store(day);
    assertEquals(week, db.plans().load("week"));
    assertEquals(day, db.plans().load("day"));
  }

  @Test
  void storeReplacesThePlanWithItsStagesAndMethods() {
    db.plans().store(gold());
    UsagePlan replaced = new UsagePlan("gold", "Gold 2", "", null, null,
        List.of(new ApiStage("pets", "beta", Map.of("GET /pets", new Throttle(3, 3)))), false);
    db.plans().store(replaced);

    assertEquals(replaced, db.plans().load("gold"));
    assertEquals(1, count("tollgate_plan_stage"));
    assertEquals(1, count("tollgate_plan_method"));
  }

  @Test
  void deletingAPlanDeletesItsStagesAndMethods() {
    db.plans().store(gold());
    db.plans().store(bare("other"));
    db.plans().delete("gold");
    db.plans().delete("never-stored");

    assertNull(db.plans().load("gold"));
    assertEquals(Set.of("other"), db.plans().ids());
    assertEquals(0, count("tollgate_plan_stage"));
    assertEquals(0, count("tollgate_plan_method"));
  }

  @Test
  void aPlanStoreThatFailsMidwayKeepsThePreviousVersion() {
    UsagePlan gold = gold();
    db.plans().store(gold);
    // The plan row and the stages are written before the method throttle breaks a CHECK.
    UsagePlan broken = new UsagePlan("gold", "Broken", "", null, null,
        List.of(new ApiStage("x", "y", Map.of("GET /", new Throttle(1, 0)))), false);
    PersistenceException e =
        assertThrows(PersistenceException.class, () -> db.plans().store(broken));
    assertTrue(e.getMessage().startsWith("store plan gold failed on "), e.getMessage());

    assertEquals(gold, db.plans().load("gold"));
    assertEquals(3, count("tollgate_plan_stage"));

    UsagePlan brokenNew = new UsagePlan("new", "", "", null, null,
        List.of(new ApiStage("x", "y", Map.of("GET /", new Throttle(-1, 1)))), false);
    assertThrows(PersistenceException.class, () -> db.plans().store(brokenNew));
    assertNull(db.plans().load("new"));
  }

  // ---- keys

  static ApiKey key(String id, String value, Set<String> plans) {
    return new ApiKey(id, "name of " + id, ApiKeys.hash(value), true, plans,
        Instant.parse("2026-03-04T05:06:07.123456Z"), false);
  }

  @Test
  void keysRoundTrip() {
    ApiKey a = key("a", "value-a", Set.of("gold", "silver"));
    ApiKey b = key("b", "value-b", Set.of()).withEnabled(false);
    db.keys().store(a);
    db.keys().store(b);

    assertEquals(a, db.keys().load(a.hash()));
    assertEquals(b, db.keys().load(b.hash()));
    assertNull(db.keys().load(ApiKeys.hash("unknown")));
    assertEquals(Map.of(a.hash(), a, b.hash(), b), db.keys().loadAll());
    assertEquals(Set.of(a.hash(), b.hash()), db.keys().hashes());
  }

  @Test
  void keyCreationTimesAreKeptToTheMicrosecondAndKeysAreNotDeclared() {
    Instant created = Instant.parse("2026-01-02T03:04:05.123456789Z");
    ApiKey key = new ApiKey("k", "n", ApiKeys.hash("v"), true, Set.of(), created, true);
    db.keys().store(key);
    ApiKey loaded = db.keys().load(key.hash());
    assertEquals(created.truncatedTo(ChronoUnit.MICROS), loaded.createdAt());
    assertFalse(loaded.declared());
  }

  @Test
  void storeReplacesTheKeyAndItsPlans() {
    ApiKey a = key("a", "value-a", Set.of("gold", "silver"));
    db.keys().store(a);
    ApiKey changed = a.withName("renamed").withEnabled(false).withPlans(Set.of("bronze"));
    db.keys().store(changed);

    assertEquals(changed, db.keys().load(a.hash()));
    assertEquals(1, count("tollgate_key_plan"));
  }

  @Test
  void deletingAKeyDeletesItsPlanAssociations() {
    ApiKey a = key("a", "value-a", Set.of("gold", "silver"));
    ApiKey b = key("b", "value-b", Set.of("gold"));
    db.keys().store(a);
    db.keys().store(b);
    db.keys().delete(a.hash());
    db.keys().delete(ApiKeys.hash("never stored"));

    assertNull(db.keys().load(a.hash()));
    assertEquals(Set.of(b.hash()), db.keys().hashes());
    assertEquals(1, count("tollgate_key_plan"));
  }

  @Test
  void aKeyStoreThatFailsMidwayKeepsThePreviousVersion() {
    ApiKey a = key("a", "value-a", Set.of("gold"));
    db.keys().store(a);
    // The key row is replaced and its associations deleted before the too-long plan id fails.
    ApiKey broken = a.withName("broken").withPlans(Set.of("silver", "p".repeat(65)));
    assertThrows(PersistenceException.class, () -> db.keys().store(broken));

    assertEquals(a, db.keys().load(a.hash()));
  }

  @Test
  void twoKeysCannotShareAnId() {
    ApiKey a = key("same", "value-a", Set.of("gold"));
    db.keys().store(a);
    ApiKey b = key("same", "value-b", Set.of("gold"));
    PersistenceException e = assertThrows(PersistenceException.class, () -> db.keys().store(b));
    assertTrue(e.getMessage().contains("store key same"), e.getMessage());
    assertEquals(Set.of(a.hash()), db.keys().hashes());
  }

  // ---- quotas

  static SortedMap<Long, Long> days(long... dayAndCount) {
    SortedMap<Long, Long> out = new TreeMap<>();
    for (int i = 0; i < dayAndCount.length; i += 2) {
      out.put(dayAndCount[i], dayAndCount[i + 1]);
    }
    return out;
  }

  static final long DAY = LocalDate.parse("2026-05-10").toEpochDay();

  @Test
  void quotaRecordsRoundTrip() {
    QuotaRecord a = new QuotaRecord("gold", "a", 1_777_000_000L, 42, days(DAY - 1, 30, DAY, 12));
    QuotaRecord b = new QuotaRecord("gold", "b", 1_777_000_500L, 0, null);
    db.quotas().storeAll(List.of(a, b));

    assertEquals(a, db.quotas().load("gold", "a"));
    assertEquals(b, db.quotas().load("gold", "b"));
    assertNull(db.quotas().load("gold", "c"));
    assertNull(db.quotas().load("silver", "a"));
    db.quotas().storeAll(List.of());
  }

  @Test
  void loadReturnsTheSevenMostRecentDaysWithUsage() {
    SortedMap<Long, Long> nine = new TreeMap<>();
    for (int i = 0; i < 9; i++) {
      nine.put(DAY - 2 * i, 100L + i);
    }
    db.quotas().storeAll(List.of(new QuotaRecord("gold", "a", 5, 6, nine)));

    QuotaRecord loaded = db.quotas().load("gold", "a");
    assertEquals(new TreeMap<>(nine.tailMap(DAY - 12)), loaded.days());
    assertEquals(7, loaded.days().size());
  }

  @Test
  void storingADayReplacesItsCountAndLeavesOtherDaysAlone() {
    db.quotas().storeAll(List.of(new QuotaRecord("gold", "a", 10, 50, days(DAY - 1, 20, DAY, 30))));
    db.quotas().storeAll(List.of(new QuotaRecord("gold", "a", 20, 5, days(DAY, 3, DAY + 1, 2))));

    assertEquals(new QuotaRecord("gold", "a", 20, 5, days(DAY - 1, 20, DAY, 3, DAY + 1, 2)),
        db.quotas().load("gold", "a"));
  }

  @Test
  void storeAllThatFailsMidwayStoresNothing() {
    QuotaRecord existing = new QuotaRecord("gold", "a", 10, 50, days(DAY, 30));
    db.quotas().storeAll(List.of(existing));

    List<QuotaRecord> batch = new ArrayList<>();
    batch.add(new QuotaRecord("gold", "a", 20, 60, days(DAY, 40)));
    batch.add(new QuotaRecord("gold", "b", 20, 1, days(DAY, 1)));
    batch.add(new QuotaRecord("p".repeat(65), "c", 20, 1, days(DAY, 1)));
    assertThrows(PersistenceException.class, () -> db.quotas().storeAll(batch));

    assertEquals(existing, db.quotas().load("gold", "a"));
    assertNull(db.quotas().load("gold", "b"));
  }

  @Test
  void deletingAQuotaDeletesItsCounterAndDays() {
    db.quotas().storeAll(List.of(
        new QuotaRecord("gold", "a", 10, 50, days(DAY, 30)),
        new QuotaRecord("gold", "b", 10, 51, days(DAY, 31))));
    db.quotas().delete("gold", "a");
    db.quotas().delete("gold", "never");

    assertNull(db.quotas().load("gold", "a"));
    assertEquals(new QuotaRecord("gold", "b", 10, 51, days(DAY, 31)), db.quotas().load("gold", "b"));
  }

  @Test
  void dailyUsageReturnsTheStoredDaysInTheRange() {
    db.quotas().storeAll(List.of(
        new QuotaRecord("gold", "a", 0, 0, days(DAY - 5, 1, DAY - 2, 2, DAY, 3, DAY + 1, 4)),
        new QuotaRecord("gold", "b", 0, 0, days(DAY - 1, 5)),
        new QuotaRecord("gold", "c", 0, 0, days(DAY - 9, 6)),
        new QuotaRecord("silver", "a", 0, 0, days(DAY, 7))));
    LocalDate from = LocalDate.ofEpochDay(DAY - 2);
    LocalDate to = LocalDate.ofEpochDay(DAY);

    Map<String, SortedMap<LocalDate, Long>> all = db.quotas().dailyUsage("gold", null, from, to);
    assertEquals(Map.of(
        "a", new TreeMap<>(Map.of(from, 2L, to, 3L)),
        "b", new TreeMap<>(Map.of(LocalDate.ofEpochDay(DAY - 1), 5L))), all);

    Map<String, SortedMap<LocalDate, Long>> some =
        db.quotas().dailyUsage("gold", List.of("a", "c", "nobody"), from, to);
    assertEquals(Map.of("a", new TreeMap<>(Map.of(from, 2L, to, 3L))), some);

    assertEquals(Map.of(), db.quotas().dailyUsage("gold", List.of(), from, to));
    assertEquals(Map.of(), db.quotas().dailyUsage("bronze", null, from, to));
    assertEquals(Map.of("a", new TreeMap<>(Map.of(to, 3L))),
        db.quotas().dailyUsage("gold", null, to, to));
  }

  @Test
  void dailyUsageAcceptsManyKeys() {
    List<QuotaRecord> records = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 1_200; i++) {
      keys.add("k" + i);
      if (i % 100 == 0) {
        records.add(new QuotaRecord("gold", "k" + i, 0, 0, days(DAY, i)));
      }
    }
    db.quotas().storeAll(records);
    LocalDate day = LocalDate.ofEpochDay(DAY);
    assertEquals(12, db.quotas().dailyUsage("gold", keys, day, day).size());
  }

  // ---- migrations and opening

  /** The newest schema version of this build. */
  static final int LATEST = 1;

  /** A raw connection to the database of {@code settings}, as the code before Flyway used it. */
  abstract Connection rawConnection(DatabaseSettings settings) throws Exception;

  @Test
  void openingAgainAppliesNoMigrationTwice() {
    db.plans().store(gold());
    try (Database again = Database.open(settings)) {
      assertEquals(LATEST, again.schemaVersion());
      assertEquals(gold(), again.plans().load("gold"));
    }
    db.close();
    db = Database.open(settings);
    assertEquals(LATEST, db.schemaVersion());
    assertEquals(LATEST, appliedFiles());
    assertEquals(gold(), db.plans().load("gold"));
  }

  @Test
  void aDatabaseMigratedByTheHandWrittenRunnerIsBaselinedAndKeepsItsData() throws Exception {
    db.close();
    db = null;
    DatabaseSettings legacy = newDatabase();
    // What the hand-written runner of earlier versions left: the V1 tables, its lock table and
    // its version table with V1 recorded.
    try (Connection c = rawConnection(legacy); Statement s = c.createStatement()) {
      for (String sql : statements(resource("db/migration/V1__plans_keys_quotas.sql"))) {
        s.execute(sql);
      }
      s.execute("CREATE TABLE tollgate_schema_lock (id INTEGER NOT NULL PRIMARY KEY)");
      s.execute("INSERT INTO tollgate_schema_lock (id) VALUES (1)");
      s.execute("CREATE TABLE tollgate_schema_version (version INTEGER NOT NULL PRIMARY KEY,"
          + " name VARCHAR(255) NOT NULL, checksum BIGINT NOT NULL,"
          + " applied_at TIMESTAMP WITH TIME ZONE NOT NULL)");
      s.execute("INSERT INTO tollgate_schema_version VALUES (1, 'V1__plans_keys_quotas.sql',"
          + " 1234567, CURRENT_TIMESTAMP)");
      s.execute("INSERT INTO tollgate_plan (id, name, description, created_at, updated_at)"
          + " VALUES ('legacy', 'Legacy', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)");
      if (!c.getAutoCommit()) {
        c.commit();
      }
    }

    settings = legacy;
    db = Database.open(legacy);
    assertEquals(LATEST, db.schemaVersion());
    assertEquals(Set.of("legacy"), db.plans().ids());
    db.plans().store(gold());
    assertEquals(0, appliedFiles(), "V1 was not run again");
    assertEquals("1", db.transaction("read baseline", c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT \"version\" FROM"
          + " \"tollgate_schema_history\" WHERE \"type\" = 'BASELINE'");
          ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }));
    db.close();
    db = Database.open(legacy);
    assertEquals(Set.of("gold", "legacy"), db.plans().ids());
  }

  @Test
  void aDatabaseWithOtherApplicationsTablesGetsTheWholeSchema() throws Exception {
    db.close();
    db = null;
    DatabaseSettings shared = newDatabase();
    try (Connection c = rawConnection(shared); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE other_application (id INTEGER NOT NULL PRIMARY KEY)");
      if (!c.getAutoCommit()) {
        c.commit();
      }
    }
    settings = shared;
    db = Database.open(shared);
    assertEquals(LATEST, db.schemaVersion());
    assertEquals(LATEST, appliedFiles());
    db.plans().store(gold());
    assertEquals(0, count("other_application"));
  }

  @Test
  void membersStartingAtOnceOnANewDatabaseBothWork() throws Exception {
    db.close();
    db = null;
    DatabaseSettings fresh = newDatabase();
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<Database>> opened = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        Callable<Database> open = () -> {
          go.await();
          return Database.open(fresh);
        };
        opened.add(pool.submit(open));
      }
      go.countDown();
      List<Database> all = new ArrayList<>();
      try {
        for (Future<Database> f : opened) {
          all.add(f.get());
        }
        for (int i = 0; i < all.size(); i++) {
          all.get(i).plans().store(bare("p" + i));
        }
        for (Database each : all) {
          assertEquals(Set.of("p0", "p1", "p2"), each.plans().ids());
        }
      } finally {
        all.forEach(Database::close);
      }
    } finally {
      pool.shutdownNow();
    }
    settings = fresh;
    db = Database.open(fresh);
    assertEquals(LATEST, appliedFiles());
  }

  /** The migration files Flyway ran (baselines excluded). */
  long appliedFiles() {
    return db.transaction("count applied files", c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM"
          + " \"tollgate_schema_history\" WHERE \"type\" = 'SQL' AND \"success\"");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }

  static String resource(String name) throws Exception {
    try (var in = PersistenceContractTest.class.getClassLoader().getResourceAsStream(name)) {
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /** The statements of a migration file: each ends with ';' at the end of a line. */
  static List<String> statements(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\n")) {
      if (line.strip().isEmpty() || line.strip().startsWith("--")) {
        continue;
      }
      current.append(line).append('\n');
      if (line.strip().endsWith(";")) {
        String sql = current.toString().strip();
        out.add(sql.substring(0, sql.length() - 1));
        current.setLength(0);
      }
    }
    return out;
  }

  /** The number of rows in a table. */
  long count(String table) {
    return db.transaction("count " + table, c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM " + table);
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }
}
