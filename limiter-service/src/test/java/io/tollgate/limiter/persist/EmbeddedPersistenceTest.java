package io.tollgate.limiter.persist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.h2.api.ErrorCode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the embedded H2 file, and what only the embedded mode does. */
class EmbeddedPersistenceTest extends PersistenceContractTest {

  static {
    // What Database.open does before H2 first loads; some tests here use H2 directly first.
    if (System.getProperty("h2.bindAddress") == null) {
      System.setProperty("h2.bindAddress", "127.0.0.1");
    }
  }

  @TempDir
  Path temp;

  private int databases;

  @Override
  DatabaseSettings newDatabase() {
    return DatabaseSettings.embedded(temp.resolve("data-" + ++databases));
  }

  @Override
  Connection rawConnection(DatabaseSettings settings) throws Exception {
    java.nio.file.Files.createDirectories(settings.dataDir());
    // Earlier versions created the file with an empty password.
    return DriverManager.getConnection("jdbc:h2:file:"
        + settings.dataDir().toAbsolutePath().resolve("tollgate"), "tollgate", "");
  }

  @Test
  void createsTheDataDirectoryAndTheFileInIt() {
    assertTrue(Files.isRegularFile(settings.dataDir().resolve("tollgate.mv.db")));
  }

  /** Runs {@link EmbeddedDatabaseChild} on this test's data directory; returns its output. */
  private String child(String mode, int expectedExit) throws Exception {
    Process child = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        EmbeddedDatabaseChild.class.getName(), settings.dataDir().toString(), mode)
        .redirectErrorStream(true).start();
    child.getOutputStream().close();
    String output;
    try (InputStream in = child.getInputStream()) {
      output = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not exit");
    assertEquals(expectedExit, child.exitValue(), output);
    return output;
  }

  /** Reopens this test's database shared with other processes. */
  private void reopenShared() {
    db.close();
    settings = DatabaseSettings.sharedEmbedded(settings.dataDir());
    db = Database.open(settings);
  }

  @Test
  void anotherProcessSharingTheDataDirectoryWorks() throws Exception {
    reopenShared();
    db.plans().store(bare("from-parent"));

    String output = child("shared", 0);
    assertTrue(output.contains("ids=[from-child, from-parent]"), output);

    assertEquals(Set.of("from-child", "from-parent"), db.plans().ids());
  }

  @Test
  void unlessAskedForTheFileIsNotSharedAndNoServerRuns() throws Exception {
    // Alone, H2 locks the file through the file system and writes no lock file with a server.
    assertFalse(Files.exists(settings.dataDir().resolve("tollgate.lock.db")));

    String output = child("alone", 2);
    assertTrue(output.contains("is in use by another process: to share one data directory,"
        + " start every member that uses it with --db-auto-server"), output);
    assertEquals(Set.of(), db.plans().ids(), "the refused process stored nothing");
  }

  @Test
  void theDataDirectoryIsPrivateAndThePasswordIsGeneratedAndOwnerOnly() throws Exception {
    Path dir = settings.dataDir();
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    Path password = dir.resolve("db.password");
    assertEquals("rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(password)));
    String stored = Files.readString(password).strip();
    assertTrue(stored.length() >= 32, "a long random password: " + stored.length());

    String url = "jdbc:h2:file:" + dir.toAbsolutePath().resolve("tollgate")
        + ";AUTO_SERVER=TRUE";
    reopenShared();
    for (String[] login : new String[][] {{"tollgate", ""}, {"", ""}, {"sa", ""}}) {
      SQLException e = assertThrows(SQLException.class,
          () -> DriverManager.getConnection(url, login[0], login[1]).close(),
          "login " + login[0]);
      assertEquals(ErrorCode.WRONG_USER_OR_PASSWORD, e.getErrorCode(), e.getMessage());
    }
    try (Connection c = DriverManager.getConnection(url, "tollgate", stored)) {
      assertTrue(c.isValid(5));
    }
  }

  @Test
  void anExistingDataDirectoryIsMadePrivate() throws Exception {
    Path dir = temp.resolve("open-to-all");
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    try (Database opened = Database.open(DatabaseSettings.embedded(dir))) {
      assertEquals("rwx------",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    }
  }

  @Test
  void aDatabaseCreatedWithoutAPasswordGetsOneAndKeepsItsData() throws Exception {
    // As earlier versions left it: created through the command line (user "") or through
    // DatabaseSettings.embedded (user tollgate), both with an empty password.
    for (String user : new String[] {"", "tollgate"}) {
      Path dir = temp.resolve("legacy-" + (user.isEmpty() ? "empty" : user));
      Files.createDirectories(dir);
      String url = "jdbc:h2:file:" + dir.toAbsolutePath().resolve("tollgate");
      try (Connection c = DriverManager.getConnection(url, user, "");
          Statement s = c.createStatement()) {
        s.execute("CREATE TABLE legacy_marker (id INTEGER)");
        s.execute("INSERT INTO legacy_marker VALUES (7)");
      }

      try (Database opened = Database.open(DatabaseSettings.embedded(dir))) {
        opened.plans().store(bare("after-upgrade"));
      }
      String stored = Files.readString(dir.resolve("db.password")).strip();
      assertFalse(Files.exists(dir.resolve("db.password.new")));
      for (String who : new String[] {"", "tollgate"}) {
        SQLException e = assertThrows(SQLException.class,
            () -> DriverManager.getConnection(url, who, "").close(), "user '" + who + "'");
        assertEquals(ErrorCode.WRONG_USER_OR_PASSWORD, e.getErrorCode(), e.getMessage());
      }
      try (Connection c = DriverManager.getConnection(url, "tollgate", stored);
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT id FROM legacy_marker")) {
        assertTrue(rs.next());
        assertEquals(7, rs.getInt(1), "data of " + user);
      }
      try (Database again = Database.open(DatabaseSettings.embedded(dir))) {
        assertEquals(Set.of("after-upgrade"), again.plans().ids());
      }
    }
  }

  @Test
  void theMixedModeServerListensOnLoopbackOnly() throws Exception {
    reopenShared();
    Properties lock = new Properties();
    try (InputStream in = Files.newInputStream(settings.dataDir().resolve("tollgate.lock.db"))) {
      lock.load(in);
    }
    // H2 writes "localhost:PORT" for a server bound to 127.0.0.1.
    String server = lock.getProperty("server");
    assertTrue(server != null && server.contains(":"), "lock file: " + lock);
    String host = server.substring(0, server.lastIndexOf(':'));
    assertTrue(InetAddress.getByName(host).isLoopbackAddress(), "lock file: " + lock);
    int port = Integer.parseInt(server.substring(server.lastIndexOf(':') + 1));

    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2_000);
    }
    for (InetAddress address : nonLoopbackAddresses()) {
      try (Socket s = new Socket()) {
        assertThrows(IOException.class,
            () -> s.connect(new InetSocketAddress(address, port), 2_000),
            "the H2 server answers on " + address);
      }
    }
  }

  private static List<InetAddress> nonLoopbackAddresses() throws IOException {
    List<InetAddress> out = new ArrayList<>();
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp()) {
        continue;
      }
      for (InetAddress a : Collections.list(nic.getInetAddresses())) {
        if (a instanceof Inet4Address && !a.isLoopbackAddress()) {
          out.add(a);
        }
      }
    }
    return out;
  }

  @Test
  void aWrongPasswordNamesTheFileNotThePassword() {
    db.close();
    db = null;
    DatabaseSettings wrong =
        new DatabaseSettings(null, null, "s3cret-guess", settings.dataDir());
    PersistenceException e = assertThrows(PersistenceException.class, () -> Database.open(wrong));
    assertTrue(e.getMessage().startsWith("cannot open database jdbc:h2:file:"), e.getMessage());
    assertTrue(e.getMessage().contains("Wrong user name or password"), e.getMessage());
    assertFalse(e.getMessage().contains("s3cret-guess"), e.getMessage());
  }

  @Test
  void anUnsupportedUrlIsRefusedWithItsName() {
    PersistenceException e = assertThrows(PersistenceException.class, () -> Database.open(
        new DatabaseSettings("jdbc:mysql://db/x?password=hunter2", "u", "p", null)));
    assertEquals("unsupported database URL jdbc:mysql://db/x?password=***: expected"
        + " jdbc:postgresql://HOST[:PORT]/DATABASE, or no URL for the embedded database file",
        e.getMessage());
  }

  @Test
  void noUrlAndNoDataDirectoryIsAnError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Database.open(new DatabaseSettings(null, null, null, null)));
    assertTrue(e.getMessage().contains("dataDir is required"), e.getMessage());
  }

  @Test
  void settingsNeverShowThePassword() {
    String shown = new DatabaseSettings("jdbc:postgresql://h/d?password=abc", "u", "xyz", null)
        .toString();
    assertFalse(shown.contains("abc") || shown.contains("xyz"), shown);
  }
}
