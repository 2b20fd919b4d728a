package io.tollgate.limiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.LimiterProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --admin-token-file} is held to the same 16 characters as {@code --admin-token}. */
class AdminTokenFileTest {

  private static Path rules() throws Exception {
    return Path.of(AdminTokenFileTest.class.getResource("/service/rules.yaml").toURI());
  }

  @Test
  void aShortTokenFileIsRefusedAtStart(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("token");
    Files.writeString(file, "short-token\n");
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(60), "--config",
        rules().toString(), "--admin-token-file", file.toString());
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("--admin-token-file: " + file
        + " must hold at least 16 characters"), r.output());
  }

  @Test
  void aMissingTokenFileIsRefusedAtStart(@TempDir Path dir) throws Exception {
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(60), "--config",
        rules().toString(), "--admin-token-file", dir.resolve("absent").toString());
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("--admin-token-file: cannot read"), r.output());
  }
}
