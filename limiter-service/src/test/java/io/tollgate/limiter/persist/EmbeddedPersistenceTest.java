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
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the embedded H2 file, and what only the embedded mode does. */
class EmbeddedPersistenceTest extends PersistenceContractTest {

  @TempDir
  Path temp;

  private int databases;

  @Override
  DatabaseSettings newDatabase() {
    return DatabaseSettings.embedded(temp.resolve("data-" + ++databases));
  }

  @Test
  void createsTheDataDirectoryAndTheFileInIt() {
    assertTrue(Files.isRegularFile(settings.dataDir().resolve("tollgate.mv.db")));
  }

  @Test
  void anotherProcessOnTheSameDataDirectoryWorks() throws Exception {
    db.plans().store(bare("from-parent"));

    Process child = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        EmbeddedDatabaseChild.class.getName(), settings.dataDir().toString())
        .redirectErrorStream(true).start();
    child.getOutputStream().close();
    String output;
    try (InputStream in = child.getInputStream()) {
      output = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not exit");
    assertEquals(0, child.exitValue(), output);
    assertTrue(output.contains("ids=[from-child, from-parent]"), output);

    assertEquals(Set.of("from-child", "from-parent"), db.plans().ids());
  }

  @Test
  void theMixedModeServerListensOnLoopbackOnly() throws Exception {
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
