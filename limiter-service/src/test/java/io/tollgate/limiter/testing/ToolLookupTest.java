package io.tollgate.limiter.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class ToolLookupTest {

  @TempDir
  Path root;

  private Path executable(String relative) throws Exception {
    Path p = root.resolve(relative);
    Files.createDirectories(p.getParent());
    Files.writeString(p, "#!/bin/sh\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }

  @Test
  void postgresIsTheNewestDebianVersionWhateverItsNumber() throws Exception {
    for (String v : new String[] {"9.6", "13", "16", "15"}) {
      executable("lib/postgresql/" + v + "/bin/initdb");
      executable("lib/postgresql/" + v + "/bin/pg_ctl");
    }
    // A version folder without the server binaries (only the client) does not count.
    executable("lib/postgresql/17/bin/psql");
    assertEquals(root.resolve("lib/postgresql/16/bin"),
        PostgresServer.findBin(Map.of("PATH", "/nonexistent"), root.resolve("lib/postgresql")));
  }

  @Test
  void postgresOnThePathWins() throws Exception {
    executable("lib/postgresql/16/bin/initdb");
    executable("lib/postgresql/16/bin/pg_ctl");
    Path initdb = executable("opt/pg/bin/initdb");
    executable("opt/pg/bin/pg_ctl");
    Map<String, String> env = Map.of("PATH", root.resolve("nothing") + File.pathSeparator
        + initdb.getParent());
    assertEquals(initdb.getParent().toRealPath(),
        PostgresServer.findBin(env, root.resolve("lib/postgresql")));
  }

  @Test
  void postgresOnThePathIsFollowedToItsPackageFolder() throws Exception {
    Path initdb = executable("lib/postgresql/16/bin/initdb");
    executable("lib/postgresql/16/bin/pg_ctl");
    Path link = root.resolve("local/bin/initdb");
    Files.createDirectories(link.getParent());
    Files.createSymbolicLink(link, initdb);
    Map<String, String> env = Map.of("PATH", link.getParent().toString());
    assertEquals(initdb.getParent().toRealPath(),
        PostgresServer.findBin(env, root.resolve("nothing")));
  }

  @Test
  void noPostgresAnywhereIsNull() throws Exception {
    assertNull(PostgresServer.findBin(Map.of(), root.resolve("lib/postgresql")));
  }

  @Test
  void onPathSkipsFoldersWithoutTheToolAndFilesThatAreNotExecutable() throws Exception {
    Path plain = root.resolve("a/node");
    Files.createDirectories(plain.getParent());
    Files.writeString(plain, "not executable");
    Path node = executable("b/node");
    String path = String.join(File.pathSeparator, "", root.resolve("a").toString(),
        root.resolve("b").toString());
    assertEquals(node, Tools.onPath("node", Map.of("PATH", path)));
    assertNull(Tools.onPath("npm", Map.of("PATH", path)));
  }

  @Test
  void aMissingToolSkipsTheTestOrFailsItUnderCi() {
    boolean ci = "true".equals(System.getenv("CI"));
    Class<? extends Throwable> expected = ci ? AssertionFailedError.class
        : TestAbortedException.class;
    ByteArrayOutputStream report = new ByteArrayOutputStream();
    Throwable t = assertThrows(expected, () -> Tools.missing("frobnicator",
        "apt-get install frobnicator", List.of("PATH"), new PrintStream(report, true, UTF_8)));
    assertEquals(true, t.getMessage().startsWith("frobnicator not found (looked in PATH; "
        + "install: apt-get install frobnicator)"), t.getMessage());
    // One line, naming the test and the tool.
    assertEquals((ci ? "FAILED" : "SKIPPED") + " ToolLookupTest: frobnicator not found (looked in "
        + "PATH; install: apt-get install frobnicator)" + (ci ? "; CI=true, so it must run"
        : "; .ci/run installs it and runs this test") + System.lineSeparator(),
        report.toString(UTF_8));
  }
}
