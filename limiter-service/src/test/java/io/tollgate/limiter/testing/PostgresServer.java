package io.tollgate.limiter.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL server for tests, run from the installed server binaries: {@code initdb}
 * and {@code pg_ctl} from {@code PATH}, else from the newest {@code /usr/lib/postgresql/N/bin}
 * (Debian's and Ubuntu's {@code postgresql} package; any version).
 *
 * <p>{@link #start()} creates a cluster with {@code initdb} in a new directory under {@code
 * target/} and starts it with {@code pg_ctl}: it listens on 127.0.0.1 only, on a free port, with
 * no Unix socket, durability off (fsync, synchronous commit) for speed, and one superuser that logs
 * in with a password (SCRAM-SHA-256). {@link #close()} stops it and deletes the directory; a
 * shutdown hook does the same if the test JVM ends first. It takes about 1-2 s to start.
 *
 * <p>PostgreSQL refuses to run as root: as root the binaries run as the {@code postgres} user
 * (the Debian package creates it) through {@code runuser -u postgres --}, and the directory is
 * given to that user.
 *
 * <p>Without the binaries, {@link #start()} fails the test when the environment variable {@code
 * CI} is {@code true} (CI must run these tests: {@code .ci/run} installs the package) and skips it
 * otherwise, with one line naming the tool ({@link Tools}).
 */
public final class PostgresServer implements AutoCloseable {

  /** Where Debian's {@code postgresql-N} packages put the server binaries, one folder per N. */
  static final Path DEBIAN_VERSIONS = Path.of("/usr/lib/postgresql");

  private static final String USER = "tollgate";
  private static final long COMMAND_TIMEOUT_SECONDS = 60;

  private final Path bin;
  private final Path dir;
  private final Path data;
  private final boolean asPostgres;
  private final int port;
  private final String password;
  private final AtomicInteger databases = new AtomicInteger();
  private final Thread shutdownHook;
  private boolean closed;

  private PostgresServer(Path bin, Path dir, boolean asPostgres, int port, String password) {
    this.bin = bin;
    this.dir = dir;
    this.data = dir.resolve("data");
    this.asPostgres = asPostgres;
    this.port = port;
    this.password = password;
    this.shutdownHook = new Thread(this::stopQuietly, "postgres-server-stop");
  }

  /** Starts a new server; skips or fails the calling test when the binaries are absent. */
  public static PostgresServer start() throws IOException, InterruptedException {
    Path bin = findBin(System.getenv(), DEBIAN_VERSIONS);
    if (bin == null) {
      throw Tools.missing("PostgreSQL server (initdb, pg_ctl)", "apt-get install postgresql",
          List.of("PATH", DEBIAN_VERSIONS + "/*/bin"));
    }
    boolean root = "root".equals(System.getProperty("user.name"));
    Path base = Path.of("target").toAbsolutePath();
    Files.createDirectories(base);
    if (root && !traversableByOthers(base)) {
      base = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
    }
    Path dir = Files.createTempDirectory(base, "postgres-");
    String password = UUID.randomUUID().toString();
    Path pwfile = dir.resolve("pwfile");
    Files.writeString(pwfile, password + "\n", StandardCharsets.UTF_8);
    if (root) {
      run(dir, List.of("chown", "-R", "postgres:postgres", dir.toString()), false);
    }
    Path data = dir.resolve("data");
    run(dir, List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", USER,
        "--pwfile=" + pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"),
        root);
    IOException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      int port = FreePorts.next();
      PostgresServer server = new PostgresServer(bin, dir, root, port, password);
      Files.writeString(data.resolve("postgresql.auto.conf"), String.join("\n",
          "listen_addresses = '127.0.0.1'",
          "port = " + port,
          "unix_socket_directories = ''",
          "fsync = off",
          "synchronous_commit = off",
          "full_page_writes = off",
          "max_connections = 60",
          ""), StandardCharsets.UTF_8);
      try {
        run(dir, List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l",
            dir.resolve("server.log").toString(), "-w", "-t", "60", "start"), root);
        Runtime.getRuntime().addShutdownHook(server.shutdownHook);
        return server;
      } catch (IOException e) {
        // Most likely the port was taken between FreePorts and the bind: try another.
        last = e;
      }
    }
    deleteTree(dir);
    throw last;
  }

  /** The port on 127.0.0.1. */
  public int port() {
    return port;
  }

  /** The superuser's name. */
  public String user() {
    return USER;
  }

  /** The superuser's password. */
  public String password() {
    return password;
  }

  /** The JDBC URL of a database on this server (which need not exist). */
  public String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /** Creates a new empty database and returns its JDBC URL. */
  public String createDatabase() throws SQLException {
    String name = "test_" + databases.incrementAndGet();
    try (Connection c = DriverManager.getConnection(url("postgres"), USER, password);
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    return url(name);
  }

  /** Stops the server and deletes its directory. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    stopQuietly();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // The hook is running or has run: nothing to remove.
    }
  }

  private synchronized void stopQuietly() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      run(dir, List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate",
          "-w", "stop"), asPostgres);
    } catch (IOException | InterruptedException e) {
      System.err.println("could not stop PostgreSQL in " + dir + ": " + e);
    }
    try {
      deleteTree(dir);
    } catch (IOException e) {
      System.err.println("could not delete " + dir + ": " + e);
    }
  }

  /**
   * The folder holding {@code initdb} and {@code pg_ctl}: the one of {@code initdb} on {@code
   * env}'s {@code PATH} (followed through symbolic links), else the highest version under
   * {@code debianVersions} ({@code N/bin}, N compared as a number), else {@code null}.
   */
  static Path findBin(Map<String, String> env, Path debianVersions) throws IOException {
    Path onPath = Tools.onPath("initdb", env);
    if (onPath != null) {
      // Through a symbolic link (e.g. /usr/local/bin/initdb) to the package's own folder.
      Path real = onPath.toRealPath();
      if (Files.isExecutable(real.resolveSibling("pg_ctl"))) {
        return real.getParent();
      }
      if (Files.isExecutable(onPath.resolveSibling("pg_ctl"))) {
        return onPath.getParent();
      }
    }
    if (!Files.isDirectory(debianVersions)) {
      return null;
    }
    try (Stream<Path> versions = Files.list(debianVersions)) {
      return versions
          .filter(v -> v.getFileName().toString().matches("\\d+(\\.\\d+)?"))
          .filter(v -> Files.isExecutable(v.resolve("bin/initdb"))
              && Files.isExecutable(v.resolve("bin/pg_ctl")))
          .max(Comparator.comparingDouble(v -> Double.parseDouble(v.getFileName().toString())))
          .map(v -> v.resolve("bin"))
          .orElse(null);
    }
  }

  private static boolean traversableByOthers(Path dir) throws IOException {
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.exists(p)
          && !Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
        return false;
      }
    }
    return true;
  }

  private static void run(Path dir, List<String> command, boolean asPostgres)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    if (asPostgres) {
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(command);
    Path out = Files.createTempFile(dir, "cmd-", ".log");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of(
            "/dev/null").toFile())).start();
    if (!p.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + ": no exit within "
          + COMMAND_TIMEOUT_SECONDS + " s");
    }
    String output = Files.readString(out);
    Files.deleteIfExists(out);
    if (p.exitValue() != 0) {
      Path log = dir.resolve("server.log");
      String serverLog = Files.isReadable(log) ? "\nserver log:\n" + Files.readString(log) : "";
      throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n"
          + output + serverLog);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
