package io.tollgate.limiter.persist;

import io.tollgate.limiter.persist.Database.Dialect;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import java.util.zip.CRC32;
import javax.sql.DataSource;

/**
 * Applies the SQL files of {@code db/migration} that the database lacks, in order, and records
 * each in {@code tollgate_schema_version}.
 *
 * <p>Implementation notes. The files are listed in {@code db/migration/index.txt} (a classpath
 * directory cannot be listed from a jar); file {@code V<n>__<what>.sql} is version n. A file is a
 * list of statements ended by {@code ;} at the end of a line; {@code --} lines are comments. Each
 * file and its version row are one transaction: all or nothing on PostgreSQL, whose DDL is
 * transactional; on H2 each DDL statement commits by itself, so a file that fails half-way leaves
 * what ran before the failure (the embedded file is only ever upgraded by Tollgate itself, so that
 * is a bug to fix, not a state to recover from).
 *
 * <p>Members that start at once against one database take turns: on PostgreSQL the runner holds a
 * session advisory lock ({@code pg_advisory_lock}) while it reads the versions and applies the
 * missing files; on H2, which has no advisory lock, a second connection holds the row of
 * {@code tollgate_schema_lock} with {@code SELECT ... FOR UPDATE} meanwhile. Whoever comes second
 * finds everything applied and does nothing. A recorded file whose checksum no longer matches is
 * an error; versions newer than this build knows are logged and left alone, so an older member
 * can still start against a database a newer one upgraded.
 */
final class SchemaMigrations {

  private static final Logger LOG = Logger.getLogger(SchemaMigrations.class.getName());

  private static final String DIRECTORY = "db/migration/";
  private static final String INDEX = DIRECTORY + "index.txt";

  /** Any constant; it names Tollgate's migration lock among the server's advisory locks. */
  private static final long PG_LOCK_KEY = 0x746f6c6c67617465L; // "tollgate"

  // H2 waits this long for the lock row per try; a migration takes well under a second.
  private static final int H2_LOCK_TRIES = 12;

  private static final String CREATE_VERSION_TABLE =
      "CREATE TABLE IF NOT EXISTS tollgate_schema_version ("
          + " version INTEGER NOT NULL PRIMARY KEY,"
          + " name VARCHAR(255) NOT NULL,"
          + " checksum BIGINT NOT NULL,"
          + " applied_at TIMESTAMP WITH TIME ZONE NOT NULL)";

  private SchemaMigrations() {}

  /** A migration file. */
  record Migration(int version, String name, List<String> statements, long checksum) {}

  /**
   * Brings the schema up to date.
   *
   * @return the schema version afterwards
   */
  static int migrate(DataSource dataSource, Dialect dialect) throws SQLException {
    List<Migration> migrations = load();
    if (dialect == Dialect.POSTGRESQL) {
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
          s.execute("SELECT pg_advisory_lock(" + PG_LOCK_KEY + ")");
        }
        try {
          return apply(c, migrations);
        } finally {
          c.setAutoCommit(true);
          try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_advisory_unlock(" + PG_LOCK_KEY + ")");
          }
        }
      }
    }
    try (Connection lock = dataSource.getConnection();
        Connection c = dataSource.getConnection()) {
      lockH2(lock);
      try {
        return apply(c, migrations);
      } finally {
        lock.commit();
      }
    }
  }

  private static void lockH2(Connection lock) throws SQLException {
    lock.setAutoCommit(true);
    try (Statement s = lock.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS tollgate_schema_lock (id INTEGER NOT NULL PRIMARY KEY)");
      s.execute("INSERT INTO tollgate_schema_lock (id) SELECT 1 FROM (VALUES (0)) AS one (x)"
          + " WHERE NOT EXISTS (SELECT 1 FROM tollgate_schema_lock WHERE id = 1)");
    } catch (SQLException e) {
      if (!isUniqueViolation(e)) {
        throw e;
      }
      // Another member inserted the row at the same moment: it is there, which is all we need.
    }
    lock.setAutoCommit(false);
    for (int attempt = 1; ; attempt++) {
      try (Statement s = lock.createStatement();
          ResultSet rs = s.executeQuery("SELECT id FROM tollgate_schema_lock WHERE id = 1 FOR UPDATE")) {
        rs.next();
        return;
      } catch (SQLException e) {
        lock.rollback();
        if (attempt == H2_LOCK_TRIES || !isLockTimeout(e)) {
          throw e;
        }
      }
    }
  }

  private static boolean isUniqueViolation(SQLException e) {
    return "23505".equals(e.getSQLState());
  }

  private static boolean isLockTimeout(SQLException e) {
    // H2: LOCK_TIMEOUT_1 (50200), reported with SQL state HYT00.
    return e.getErrorCode() == 50200 || "HYT00".equals(e.getSQLState());
  }

  private static int apply(Connection c, List<Migration> migrations) throws SQLException {
    c.setAutoCommit(true);
    try (Statement s = c.createStatement()) {
      s.execute(CREATE_VERSION_TABLE);
    }
    Map<Integer, Long> applied = new HashMap<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT version, checksum FROM tollgate_schema_version")) {
      while (rs.next()) {
        applied.put(rs.getInt(1), rs.getLong(2));
      }
    }
    int known = migrations.isEmpty() ? 0 : migrations.get(migrations.size() - 1).version();
    int newest = applied.keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
    if (newest > known) {
      LOG.warning(() -> "database schema is at version " + newest + ", newer than this build's "
          + known + "; going on with it");
    }
    c.setAutoCommit(false);
    for (Migration m : migrations) {
      Long checksum = applied.get(m.version());
      if (checksum != null) {
        if (checksum != m.checksum()) {
          throw new IllegalStateException("migration " + m.name() + " was changed after it was"
              + " applied (checksum " + m.checksum() + ", recorded " + checksum + ")");
        }
        continue;
      }
      try {
        try (Statement s = c.createStatement()) {
          for (String sql : m.statements()) {
            s.execute(sql);
          }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tollgate_schema_version"
            + " (version, name, checksum, applied_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP)")) {
          ps.setInt(1, m.version());
          ps.setString(2, m.name());
          ps.setLong(3, m.checksum());
          ps.executeUpdate();
        }
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw new SQLException("migration " + m.name() + ": " + e.getMessage(), e.getSQLState(),
            e.getErrorCode(), e);
      }
      LOG.info(() -> "applied migration " + m.name());
    }
    c.setAutoCommit(true);
    return Math.max(known, newest);
  }

  /** The migrations of the classpath, in order. */
  static List<Migration> load() {
    List<Migration> out = new ArrayList<>();
    for (String line : read(INDEX).split("\n")) {
      String name = line.strip();
      if (name.isEmpty() || name.startsWith("#")) {
        continue;
      }
      int version = versionOf(name);
      if (version != out.size() + 1) {
        throw new IllegalStateException(INDEX + ": expected version " + (out.size() + 1)
            + ", found " + name);
      }
      String text = read(DIRECTORY + name);
      CRC32 crc = new CRC32();
      crc.update(text.getBytes(StandardCharsets.UTF_8));
      out.add(new Migration(version, name, statements(text), crc.getValue()));
    }
    return List.copyOf(out);
  }

  private static int versionOf(String name) {
    int end = name.indexOf("__");
    if (!name.startsWith("V") || end < 2 || !name.endsWith(".sql")) {
      throw new IllegalStateException(INDEX + ": bad migration name '" + name
          + "' (expected V<n>__<what>.sql)");
    }
    return Integer.parseInt(name.substring(1, end));
  }

  /** Splits a file into statements: each ends with ';' at the end of a line. */
  static List<String> statements(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("--")) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        String sql = current.toString().strip();
        out.add(sql.substring(0, sql.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      throw new IllegalStateException("statement without a final ';': " + current);
    }
    return out;
  }

  private static String read(String resource) {
    ClassLoader loader = SchemaMigrations.class.getClassLoader();
    try (InputStream in = loader.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      StringBuilder sb = new StringBuilder();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          sb.append(line).append('\n');
        }
      }
      return sb.toString();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }
}
