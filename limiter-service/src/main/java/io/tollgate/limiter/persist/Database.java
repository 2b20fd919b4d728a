package io.tollgate.limiter.persist;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The database of plans, keys and quota counters: a small connection pool, a schema brought up to
 * date when it opens, and the repositories over it.
 *
 * <h2>Embedded mode (the default)</h2>
 *
 * <p>Without a URL the database is an H2 file, {@code <dataDir>/tollgate.mv.db} (the directory is
 * created if missing), with {@code <dataDir>/tollgate.lock.db} beside it while it is open. The
 * user is {@code tollgate} unless the settings name another; the password is the one the file was
 * created with (none by default).
 *
 * <p>Several processes on one machine may open the same data directory at once: it is opened in
 * H2's mixed mode ({@code AUTO_SERVER=TRUE}). The first process opens the file and starts an H2
 * TCP server inside itself on a random port; the lock file records that address, and the others
 * connect to it. When the first process closes the database or exits, another one takes the file
 * over and becomes the server; its connections reconnect by themselves.
 *
 * <p>That TCP server listens on 127.0.0.1 only, never on another interface: before H2 is first
 * used, {@link #open} sets the system property {@code h2.bindAddress} to {@code 127.0.0.1} (H2
 * reads it once, into {@code org.h2.engine.SysProperties.BIND_ADDRESS}), and it refuses to open
 * the embedded file if that property was already set to another address. The server also
 * accepts no connection from another host (H2's default, {@code -tcpAllowOthers} off). Nothing
 * else listens: there is no web console and no PostgreSQL-protocol server.
 *
 * <p>Close the database after the grid, so the grid can still write back its last changes while
 * the process stops. Mixed mode does not allow turning off H2's own shutdown hook ({@code
 * DB_CLOSE_ON_EXIT=FALSE}): on JVM exit, H2 also closes the file of the process that serves it,
 * concurrently with the other shutdown hooks, so the last write-back must happen before the JVM
 * starts exiting or in a hook that finishes before H2's.
 *
 * <h2>PostgreSQL</h2>
 *
 * <p>With a {@code jdbc:postgresql:} URL the database is that PostgreSQL (15 or later; plans and
 * counters of every member go there). The command line sets it with {@code --db-url}, {@code
 * --db-user} and {@code --db-password}, which map to {@link DatabaseSettings#url()}, {@link
 * DatabaseSettings#user()} and {@link DatabaseSettings#password()}. Without {@code --db-url} the
 * embedded file is used, and {@code --db-user} and {@code --db-password}, when given, are its user
 * and password.
 *
 * <h2>Errors</h2>
 *
 * <p>{@link #open} fails with a {@link PersistenceException} whose message names the URL (with
 * any password in it masked) and the cause, for example {@code cannot open database
 * jdbc:postgresql://db:5432/tollgate as user tollgate: FATAL: password authentication failed for
 * user "tollgate"}. It checks the connection and the schema before it returns.
 */
public final class Database implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(Database.class.getName());

  /** The embedded file's name in the data directory, without H2's {@code .mv.db}. */
  static final String EMBEDDED_NAME = "tollgate";

  /** The embedded user when the settings name none. */
  static final String EMBEDDED_DEFAULT_USER = "tollgate";

  private static final String LOOPBACK = "127.0.0.1";
  private static final String H2_BIND_ADDRESS = "h2.bindAddress";

  // A few members' partition threads and one write-behind thread share the pool; each call is
  // one short transaction, so 8 connections are plenty and keep a shared PostgreSQL unburdened.
  private static final int MAX_POOL_SIZE = 8;
  private static final int MIN_IDLE = 1;
  // A partition thread must not wait long for a connection: fail the call after 10 s instead.
  private static final long CONNECTION_TIMEOUT_MILLIS = 10_000;
  // PostgreSQL's connect timeout, in seconds (the driver's unit).
  private static final String PG_CONNECT_TIMEOUT_SECONDS = "10";

  private static final Pattern URL_PASSWORD =
      Pattern.compile("(?i)(password=)[^&;]*");

  private final HikariDataSource dataSource;
  private final Dialect dialect;
  private final String safeUrl;
  private final int schemaVersion;
  private final PlanRepository plans;
  private final KeyRepository keys;
  private final QuotaRepository quotas;

  private Database(HikariDataSource dataSource, Dialect dialect, String safeUrl,
      int schemaVersion) {
    this.dataSource = dataSource;
    this.dialect = dialect;
    this.safeUrl = safeUrl;
    this.schemaVersion = schemaVersion;
    this.plans = new PlanRepository(this);
    this.keys = new KeyRepository(this);
    this.quotas = new QuotaRepository(this);
  }

  /**
   * Opens the database the settings name, connects, and applies the schema migrations it lacks.
   *
   * @throws PersistenceException when the URL is not one Tollgate supports, the server cannot be
   *     reached, the login fails, or the schema cannot be brought up to date
   * @throws IllegalArgumentException when the settings name neither a URL nor a data directory
   */
  /** Attempts, half a second apart, to open an embedded file another process is opening. */
  private static final int EMBEDDED_LOCK_ATTEMPTS = 20;

  public static Database open(DatabaseSettings settings) {
    Objects.requireNonNull(settings, "settings");
    Dialect dialect;
    String url;
    String user;
    HikariConfig config = new HikariConfig();
    if (settings.isEmbedded()) {
      dialect = Dialect.H2;
      url = embeddedUrl(settings.dataDir());
      user = settings.user() == null ? EMBEDDED_DEFAULT_USER : settings.user();
      config.setDriverClassName("org.h2.Driver");
    } else if (settings.url().startsWith("jdbc:postgresql:")) {
      dialect = Dialect.POSTGRESQL;
      url = settings.url();
      user = settings.user();
      config.setDriverClassName("org.postgresql.Driver");
      config.addDataSourceProperty("connectTimeout", PG_CONNECT_TIMEOUT_SECONDS);
      config.addDataSourceProperty("ApplicationName", "tollgate");
    } else {
      throw new PersistenceException("unsupported database URL " + redact(settings.url())
          + ": expected jdbc:postgresql://HOST[:PORT]/DATABASE, or no URL for the embedded"
          + " database file");
    }
    String safeUrl = redact(url);
    config.setJdbcUrl(url);
    if (user != null) {
      config.setUsername(user);
    }
    config.setPassword(settings.password() == null ? "" : settings.password());
    config.setPoolName("tollgate-db");
    config.setMaximumPoolSize(MAX_POOL_SIZE);
    config.setMinimumIdle(MIN_IDLE);
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MILLIS);
    config.setAutoCommit(false);
    // Fail at once when the first connection cannot be made, rather than retry in the background.
    config.setInitializationFailTimeout(1);

    HikariDataSource dataSource = null;
    // Two processes opening one embedded file at the same moment can both find no server yet:
    // the second sees the file locked until the first has started serving it. Try again briefly.
    for (int attempt = 1; dataSource == null; attempt++) {
      try {
        dataSource = new HikariDataSource(config);
      } catch (RuntimeException e) {
        boolean locked = dialect == Dialect.H2 && String.valueOf(describe(e))
            .contains("Locked by another process");
        if (!locked || attempt >= EMBEDDED_LOCK_ATTEMPTS) {
          throw new PersistenceException("cannot open database " + safeUrl
              + (user == null ? "" : " as user " + user) + ": " + describe(e), e);
        }
        try {
          Thread.sleep(500);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new PersistenceException("interrupted while opening " + safeUrl, ie);
        }
      }
    }
    try {
      int version = SchemaMigrations.migrate(dataSource, dialect);
      LOG.info(() -> "database " + safeUrl + " open, schema version " + version);
      return new Database(dataSource, dialect, safeUrl, version);
    } catch (SQLException | RuntimeException e) {
      dataSource.close();
      throw new PersistenceException("cannot migrate database " + safeUrl + ": " + describe(e), e);
    }
  }

  private static String embeddedUrl(Path dataDir) {
    if (dataDir == null) {
      throw new IllegalArgumentException(
          "dataDir is required for the embedded database (no database URL given)");
    }
    Path dir = dataDir.toAbsolutePath().normalize();
    if (dir.toString().contains(";")) {
      throw new IllegalArgumentException("dataDir must not contain ';': " + dir);
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new PersistenceException("cannot create data directory " + dir + ": " + e, e);
    }
    bindH2ToLoopback();
    return "jdbc:h2:file:" + dir.resolve(EMBEDDED_NAME)
        + ";AUTO_SERVER=TRUE";
  }

  /**
   * Makes H2's mixed-mode TCP server listen on 127.0.0.1. The property must be set before H2's
   * {@code SysProperties} class loads, which the check below then does.
   */
  private static synchronized void bindH2ToLoopback() {
    String set = System.getProperty(H2_BIND_ADDRESS);
    if (set == null) {
      System.setProperty(H2_BIND_ADDRESS, LOOPBACK);
    }
    String effective = org.h2.engine.SysProperties.BIND_ADDRESS;
    boolean loopback;
    try {
      loopback = effective != null && InetAddress.getByName(effective).isLoopbackAddress();
    } catch (IOException e) {
      loopback = false;
    }
    if (!loopback) {
      throw new PersistenceException("the embedded database would listen on " + effective
          + ": the system property " + H2_BIND_ADDRESS + " must be " + LOOPBACK
          + " (or unset) when H2 is first loaded");
    }
  }

  /** The URL with any {@code password=} parameter masked, for messages and logs. */
  static String redact(String url) {
    return url == null ? null : URL_PASSWORD.matcher(url).replaceAll("$1***");
  }

  /** The messages of the chain that say why, without the pool's own wrapping. */
  static String describe(Throwable e) {
    Throwable cause = e;
    while (cause.getCause() != null && !(cause instanceof SQLException)) {
      cause = cause.getCause();
    }
    String message = cause.getMessage();
    return message == null || message.isBlank() ? cause.toString() : message;
  }

  /** Whether this is the embedded H2 file. */
  public boolean isEmbedded() {
    return dialect == Dialect.H2;
  }

  /** The JDBC URL, any password in it masked. */
  public String url() {
    return safeUrl;
  }

  /** The schema version after the migrations ran. */
  public int schemaVersion() {
    return schemaVersion;
  }

  /** Plans stored through the admin API. */
  public PlanRepository plans() {
    return plans;
  }

  /** API keys stored through the admin API. */
  public KeyRepository keys() {
    return keys;
  }

  /** Quota counters and daily usage. */
  public QuotaRepository quotas() {
    return quotas;
  }

  Dialect dialect() {
    return dialect;
  }

  /**
   * Runs {@code work} in one transaction: committed when it returns, rolled back when it throws.
   *
   * @param what what is being done, for the error message, e.g. {@code "store plan gold"}
   * @throws PersistenceException when the database fails; nothing of the work is kept then
   */
  <T> T transaction(String what, SqlWork<T> work) {
    try (Connection c = dataSource.getConnection()) {
      try {
        T result = work.run(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
        } catch (SQLException rollbackFailure) {
          e.addSuppressed(rollbackFailure);
        }
        throw e;
      }
    } catch (SQLException e) {
      throw new PersistenceException(what + " failed on " + safeUrl + ": " + describe(e), e);
    }
  }

  /** Closes the pool; with the last process to close it, the embedded file too. */
  @Override
  public void close() {
    dataSource.close();
  }

  /** Work on one connection inside a transaction. */
  @FunctionalInterface
  interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  /** The two databases Tollgate runs on; they differ only in how migrations are locked. */
  enum Dialect {
    H2,
    POSTGRESQL
  }
}
