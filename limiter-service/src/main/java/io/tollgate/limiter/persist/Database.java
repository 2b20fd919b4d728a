package io.tollgate.limiter.persist;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Objects;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.h2.api.ErrorCode;

/**
 * The database of plans, keys and quota counters: a small connection pool, a schema brought up to
 * date when it opens, and the repositories over it.
 *
 * <h2>Embedded mode (the default)</h2>
 *
 * <p>Without a URL the database is an H2 file, {@code <dataDir>/tollgate.mv.db} (the directory is
 * created if missing), with H2's {@code <dataDir>/tollgate.lock.db} beside it while it is open
 * shared (below). The
 * directory is made private to its owner (mode 0700) every time it is opened. The user is {@code
 * tollgate} unless the settings name another; unless the settings give a password, the password
 * is generated when the database is created and kept in {@code <dataDir>/db.password} (mode
 * 0600). A database created without a password (by an earlier version) gets a generated one the
 * first time it is opened.
 *
 * <p>By default only this process opens the file; a second process on the same directory is
 * refused with a message that says so. With {@link DatabaseSettings#autoServer()}, several
 * processes on one machine may share the directory: the file is opened in H2's mixed mode
 * ({@code AUTO_SERVER=TRUE}). The first process opens the file and starts an H2 TCP server inside
 * itself on a random port; the lock file records that address and a random key, and the others
 * connect to it with the user and password. When the first process closes the database or exits,
 * another one takes the file over and becomes the server; its connections reconnect by
 * themselves. H2 starts that server with {@code -tcpAllowOthers}, but it listens on 127.0.0.1
 * only: before H2 is first used, {@link #open} sets the system property {@code h2.bindAddress} to
 * {@code 127.0.0.1} (H2 reads it once, into {@code org.h2.engine.SysProperties.BIND_ADDRESS}),
 * and it refuses to share the file if that property was already set to another address. So only
 * processes on this machine can reach it, and of those only the ones that can read the data
 * directory (the lock file's key, the password). Nothing else listens: there is no web console
 * and no PostgreSQL-protocol server.
 *
 * <p>Processes that share a directory open the file one at a time, under an operating-system lock
 * ({@link DataDirectory}), so members started at the same moment after any kind of stop, a crash
 * included, all start. Commits are stored at once ({@code WRITE_DELAY=0}), but H2 does not
 * promise that the last ones survive a SIGKILL: measured here with H2 2.5, a process killed right
 * after a commit lost it on the next open in about 1 of 5 tries alone and about 2 of 3 tries
 * shared (a {@code CHECKPOINT SYNC} after the commit did not prevent it). Use PostgreSQL where
 * the last second before a crash matters.
 *
 * <p>Close the database after the grid, so the grid can still write back its last changes while
 * the process stops. Alone, the process closes the file itself on {@link #close()}. Mixed mode
 * does not allow turning off H2's own shutdown hook ({@code DB_CLOSE_ON_EXIT=FALSE}): on JVM exit,
 * H2 also closes the file of the process that serves it, concurrently with the other shutdown
 * hooks, so the last write-back must happen before the JVM starts exiting or in a hook that
 * finishes before H2's.
 *
 * <h2>PostgreSQL</h2>
 *
 * <p>With a {@code jdbc:postgresql:} URL the database is that PostgreSQL (15 or later; plans and
 * counters of every member go there). The command line sets it with {@code --db-url}, {@code
 * --db-user} and {@code --db-password}, which map to {@link DatabaseSettings#url()}, {@link
 * DatabaseSettings#user()} and {@link DatabaseSettings#password()}. Without {@code --db-url} the
 * embedded file is used, and {@code --db-user} and {@code --db-password}, when given, are its user
 * and password (then no password file is written), and {@code --db-auto-server} maps to {@link
 * DatabaseSettings#autoServer()}.
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

  /** Attempts, half a second apart, to open an embedded file another process holds. */
  private static final int EMBEDDED_LOCK_ATTEMPTS = 20;

  /**
   * Opens the database the settings name, connects, and applies the schema migrations it lacks.
   *
   * @throws PersistenceException when the URL is not one Tollgate supports, the server cannot be
   *     reached, the login fails, the embedded data directory is in use by a process that does
   *     not share it, or the schema cannot be brought up to date
   * @throws IllegalArgumentException when the settings name neither a URL nor a data directory
   */
  public static Database open(DatabaseSettings settings) {
    Objects.requireNonNull(settings, "settings");
    if (settings.isEmbedded()) {
      return openEmbedded(settings);
    }
    if (!settings.url().startsWith("jdbc:postgresql:")) {
      throw new PersistenceException("unsupported database URL " + redact(settings.url())
          + ": expected jdbc:postgresql://HOST[:PORT]/DATABASE, or no URL for the embedded"
          + " database file");
    }
    HikariConfig config = poolConfig(settings.url(), settings.user(), settings.password());
    config.setDriverClassName("org.postgresql.Driver");
    config.addDataSourceProperty("connectTimeout", PG_CONNECT_TIMEOUT_SECONDS);
    config.addDataSourceProperty("ApplicationName", "tollgate");
    HikariDataSource dataSource = connect(config, settings, Dialect.POSTGRESQL);
    return migrated(dataSource, Dialect.POSTGRESQL, settings.url());
  }

  private static Database openEmbedded(DatabaseSettings settings) {
    if (settings.dataDir() == null) {
      throw new IllegalArgumentException(
          "dataDir is required for the embedded database (no database URL given)");
    }
    if (settings.dataDir().toAbsolutePath().toString().contains(";")) {
      throw new IllegalArgumentException("dataDir must not contain ';': "
          + settings.dataDir().toAbsolutePath());
    }
    DataDirectory dir = DataDirectory.prepare(settings.dataDir());
    bindH2ToLoopback(settings.autoServer());
    String url = embeddedUrl(dir.path(), settings.autoServer());
    String user = settings.user() == null ? EMBEDDED_DEFAULT_USER : settings.user();
    // One process at a time opens the file (creates it, takes it over after a crash, or starts
    // serving it) and migrates it: see DataDirectory.
    try (DataDirectory.OpenLock opening = dir.lockForOpening()) {
      String password = settings.password() != null ? settings.password()
          : embeddedPassword(dir, url, user);
      HikariConfig config = poolConfig(url, user, password);
      config.setDriverClassName("org.h2.Driver");
      HikariDataSource dataSource = connect(config, settings, Dialect.H2);
      return migrated(dataSource, Dialect.H2, url);
    }
  }

  /**
   * The password of the embedded database in {@code dir}: the stored one; for a new database a
   * generated one, stored before the database is created; for a database created without a
   * password (by an earlier version of Tollgate), a generated one, set on it now.
   */
  private static String embeddedPassword(DataDirectory dir, String url, String user) {
    String stored = dir.storedPassword();
    if (stored != null) {
      return stored;
    }
    if (!dir.hasDatabase(EMBEDDED_NAME)) {
      String password = DataDirectory.newPassword();
      dir.storePassword(password);
      return password;
    }
    // Written down first: a crash between setting it and storing it must not lock us out.
    String pending = dir.pendingPassword();
    String password = pending != null ? pending : DataDirectory.newPassword();
    if (pending == null) {
      dir.storePendingPassword(password);
    }
    setFirstPassword(url, user, password, dir);
    dir.commitPendingPassword();
    LOG.info(() -> "the embedded database in " + dir.path() + " had no password; it now has a"
        + " generated one, stored in " + DataDirectory.PASSWORD_FILE);
    return password;
  }

  /**
   * Gives {@code user} the password {@code password} on a database that has none yet. Databases
   * created by the command line of earlier versions have the user {@code ""}: it is replaced by
   * {@code user}.
   */
  private static void setFirstPassword(String url, String user, String password,
      DataDirectory dir) {
    String safeUrl = redact(url);
    SQLException refused = null;
    // The last login covers a crash after the password was set but before it was stored.
    for (String[] login : new String[][] {{user, ""}, {"", ""}, {user, password}}) {
      try (Connection c = DriverManager.getConnection(url, login[0], login[1]);
          Statement s = c.createStatement()) {
        String name = quoteUser(user);
        // The password is URL-safe Base64: it needs no escaping inside the quotes.
        s.execute("CREATE USER IF NOT EXISTS " + name + " PASSWORD '" + password + "' ADMIN");
        s.execute("ALTER USER " + name + " SET PASSWORD '" + password + "'");
        if (login[0].isEmpty() && !user.isEmpty()) {
          s.execute("DROP USER \"\"");
        }
        return;
      } catch (SQLException e) {
        if (e.getErrorCode() != ErrorCode.WRONG_USER_OR_PASSWORD) {
          throw new PersistenceException("cannot open database " + safeUrl + " as user " + user
              + ": " + describe(e), e);
        }
        refused = e;
      }
    }
    throw new PersistenceException("cannot open database " + safeUrl + " as user " + user
        + ": it has a password, and " + dir.path().resolve(DataDirectory.PASSWORD_FILE)
        + " is missing (write the password into that file, or give --db-password)", refused);
  }

  private static String quoteUser(String user) {
    return "\"" + user.toUpperCase(Locale.ROOT).replace("\"", "\"\"") + "\"";
  }

  private static HikariConfig poolConfig(String url, String user, String password) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    if (user != null) {
      config.setUsername(user);
    }
    config.setPassword(password == null ? "" : password);
    config.setPoolName("tollgate-db");
    config.setMaximumPoolSize(MAX_POOL_SIZE);
    config.setMinimumIdle(MIN_IDLE);
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MILLIS);
    config.setAutoCommit(false);
    // Fail at once when the first connection cannot be made, rather than retry in the background.
    config.setInitializationFailTimeout(1);
    return config;
  }

  private static HikariDataSource connect(HikariConfig config, DatabaseSettings settings,
      Dialect dialect) {
    String safeUrl = redact(config.getJdbcUrl());
    String user = config.getUsername();
    for (int attempt = 1; ; attempt++) {
      try {
        return new HikariDataSource(config);
      } catch (RuntimeException e) {
        String why = describe(e);
        boolean busy = dialect == Dialect.H2
            && (sqlErrorCode(e) == ErrorCode.DATABASE_ALREADY_OPEN_1
            || why.contains("Another process was faster") || why.contains("Concurrent update"));
        // Shared, only a process outside the opening lock can be in the way for a moment: an
        // older version, or a member taking the file over because its server just stopped.
        // Alone, whoever holds the file keeps it: waiting is of no use.
        if (!busy || !settings.autoServer() || attempt >= EMBEDDED_LOCK_ATTEMPTS) {
          String hint = busy && !settings.autoServer()
              ? " (the data directory " + settings.dataDir().toAbsolutePath().normalize()
                  + " is in use by another process: to share one data directory, start every"
                  + " member that uses it with --db-auto-server, or use PostgreSQL: --db-url)"
              : "";
          throw new PersistenceException("cannot open database " + safeUrl
              + (user == null ? "" : " as user " + user) + ": " + why + hint, e);
        }
        try {
          Thread.sleep(500);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new PersistenceException("interrupted while opening " + safeUrl, ie);
        }
      }
    }
  }

  private static Database migrated(HikariDataSource dataSource, Dialect dialect, String url) {
    String safeUrl = redact(url);
    try {
      int version = SchemaMigrations.migrate(dataSource, dialect);
      LOG.info(() -> "database " + safeUrl + " open, schema version " + version);
      return new Database(dataSource, dialect, safeUrl, version);
    } catch (SQLException | RuntimeException e) {
      dataSource.close();
      throw new PersistenceException("cannot migrate database " + safeUrl + ": " + describe(e), e);
    }
  }

  /**
   * The embedded file's URL. Commits are stored without H2's usual delay of up to half a second
   * ({@code WRITE_DELAY=0}). Alone, the process closes the file itself
   * ({@code DB_CLOSE_ON_EXIT=FALSE}), after the grid's last write-back; H2's own shutdown hook
   * would close it concurrently with that. Shared ({@code AUTO_SERVER=TRUE}), H2 requires its
   * hook, and the file is locked by a socket ({@code FILE_LOCK=SOCKET}): the process that has the
   * file open listens on 127.0.0.1, and another one that tries to open it (H2 tries that before
   * every new connection to the server) finds it alive by connecting. H2's default lock file
   * instead counts the owner dead when it has not rewritten the file within two seconds, which a
   * busy machine can delay: two processes then have the file open at once and each overwrites
   * what the other wrote.
   */
  private static String embeddedUrl(Path dir, boolean autoServer) {
    return "jdbc:h2:file:" + dir.resolve(EMBEDDED_NAME) + ";WRITE_DELAY=0"
        + (autoServer ? ";AUTO_SERVER=TRUE;FILE_LOCK=SOCKET" : ";DB_CLOSE_ON_EXIT=FALSE");
  }

  /**
   * Makes H2's mixed-mode TCP server listen on 127.0.0.1. The property must be set before H2's
   * {@code SysProperties} class loads; when the file is to be shared, the check below then makes
   * sure it was.
   */
  private static synchronized void bindH2ToLoopback(boolean check) {
    String set = System.getProperty(H2_BIND_ADDRESS);
    if (set == null) {
      System.setProperty(H2_BIND_ADDRESS, LOOPBACK);
    }
    if (!check) {
      return;
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

  /** The error code of the first {@link SQLException} in the chain, or 0. */
  private static int sqlErrorCode(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql) {
        return sql.getErrorCode();
      }
    }
    return 0;
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
