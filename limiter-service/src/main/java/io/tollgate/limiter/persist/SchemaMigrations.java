package io.tollgate.limiter.persist;

import io.tollgate.limiter.persist.Database.Dialect;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * Brings the schema up to date with Flyway, from the SQL files of {@code db/migration}
 * ({@code V<n>__<what>.sql}), recording each in {@value #HISTORY_TABLE}.
 *
 * <p>Implementation notes. Databases created before Flyway was used recorded their versions in
 * {@value #LEGACY_TABLE}; such a database is baselined at the newest version recorded there (the
 * files up to it are not run again), and the files after it run as usual. A database (or
 * PostgreSQL schema) that already holds other tables but none of Tollgate's is baselined at
 * version 0, so every file runs. The legacy table is left in place, read no more.
 *
 * <p>Members that start at once against one database take turns: on PostgreSQL the whole step,
 * the legacy check included, runs under a session advisory lock ({@code pg_advisory_lock}) on its
 * own connection (Flyway takes its own lock inside it); on the embedded file, {@link Database}
 * holds the data directory's opening lock meanwhile ({@link DataDirectory}). Whoever comes second
 * finds everything applied and does nothing. A recorded file whose checksum no longer matches is
 * an error; versions newer than this build knows are left alone (Flyway's default ignores
 * "future" migrations), so an older member can still start against a database a newer one
 * upgraded.
 */
final class SchemaMigrations {

  private static final Logger LOG = Logger.getLogger(SchemaMigrations.class.getName());
  // Flyway tells at INFO, at every start, each step it takes; the outcome is logged here. Held
  // in a field: java.util.logging keeps loggers only weakly.
  private static final Logger FLYWAY_LOG = Logger.getLogger("org.flywaydb");

  static {
    if (FLYWAY_LOG.getLevel() == null) {
      FLYWAY_LOG.setLevel(Level.WARNING);
    }
  }

  /** Flyway's record of applied files. */
  static final String HISTORY_TABLE = "tollgate_schema_history";
  /** Where versions were recorded before Flyway. */
  static final String LEGACY_TABLE = "tollgate_schema_version";

  private static final String LOCATION = "classpath:db/migration";

  /** Any constant; it names Tollgate's migration lock among the server's advisory locks. */
  private static final long PG_LOCK_KEY = 0x746f6c6c67617465L; // "tollgate"

  private SchemaMigrations() {}

  /**
   * Brings the schema up to date.
   *
   * @return the schema version afterwards
   */
  static int migrate(DataSource dataSource, Dialect dialect) throws SQLException {
    if (dialect != Dialect.POSTGRESQL) {
      return migrateUnlocked(dataSource);
    }
    try (Connection lock = dataSource.getConnection()) {
      lock.setAutoCommit(true);
      try (Statement s = lock.createStatement()) {
        s.execute("SELECT pg_advisory_lock(" + PG_LOCK_KEY + ")");
      }
      try {
        return migrateUnlocked(dataSource);
      } finally {
        try (Statement s = lock.createStatement()) {
          s.execute("SELECT pg_advisory_unlock(" + PG_LOCK_KEY + ")");
        }
      }
    }
  }

  private static int migrateUnlocked(DataSource dataSource) throws SQLException {
    int legacy = legacyVersion(dataSource);
    if (legacy > 0) {
      flyway(dataSource).baselineVersion(Integer.toString(legacy))
          .baselineDescription("recorded in " + LEGACY_TABLE).load().baseline();
      LOG.info(() -> "schema version " + legacy + " (from " + LEGACY_TABLE + ") is now Flyway's"
          + " baseline");
    }
    Flyway flyway = flyway(dataSource)
        .baselineOnMigrate(true)
        .baselineVersion("0")
        .baselineDescription("tables of other applications")
        .load();
    flyway.migrate();
    MigrationInfo current = flyway.info().current();
    return current == null ? 0 : Integer.parseInt(current.getVersion().getVersion());
  }

  private static FluentConfiguration flyway(DataSource dataSource) {
    return Flyway.configure(SchemaMigrations.class.getClassLoader())
        .dataSource(dataSource)
        .locations(LOCATION)
        .table(HISTORY_TABLE)
        .validateMigrationNaming(true);
  }

  /**
   * The newest version recorded in {@value #LEGACY_TABLE}, when that table exists and Flyway's
   * does not; otherwise 0.
   */
  private static int legacyVersion(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      Set<String> tables = new HashSet<>();
      try (ResultSet rs = c.getMetaData().getTables(c.getCatalog(), c.getSchema(), "%",
          new String[] {"TABLE"})) {
        while (rs.next()) {
          tables.add(rs.getString("TABLE_NAME").toLowerCase(Locale.ROOT));
        }
      }
      if (!tables.contains(LEGACY_TABLE) || tables.contains(HISTORY_TABLE)) {
        c.rollback();
        return 0;
      }
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT MAX(version) FROM " + LEGACY_TABLE)) {
        int version = rs.next() ? rs.getInt(1) : 0;
        c.rollback();
        return version;
      }
    }
  }
}
