package io.tollgate.limiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code --admin-token-file} is held to the same 16 characters as {@code --admin-token}. */
class AdminTokenFileTest {

  /**
   * The flags besides the token: free ports and a fresh data directory, so that a limiter that
   * wrongly starts takes no shared port; the test's timeout ends such a run.
   */
  private static String[] args(String... more) throws Exception {
    java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("--config",
        rules().toString(), "--grpc-port", "0", "--http-port", "0", "--cluster-port",
        Integer.toString(FreePorts.next())));
    a.addAll(LimiterProcess.dataDirUnlessGiven("token-file"));
    a.addAll(java.util.List.of(more));
    return a.toArray(String[]::new);
  }

  private static Path rules() throws Exception {
    return Path.of(AdminTokenFileTest.class.getResource("/service/rules.yaml").toURI());
  }

  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aShortTokenFileIsRefusedAtStart(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("token");
    Files.writeString(file, "short-token\n");
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(60),
        args("--admin-token-file", file.toString()));
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("--admin-token-file: " + file
        + " must hold at least 16 characters"), r.output());
  }

  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aMissingTokenFileIsRefusedAtStart(@TempDir Path dir) throws Exception {
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(60),
        args("--admin-token-file", dir.resolve("absent").toString()));
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("--admin-token-file: cannot read"), r.output());
  }
}
