package io.tollgate.limiter.deploy;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Where the repository's {@code deploy/} folder is, and the external tools its tests need. */
final class Deploy {

  private Deploy() {}

  /** A file or folder under {@code deploy/}; tests run in the module's folder. */
  static Path path(String relative) {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (root != null && !Files.isDirectory(root.resolve("deploy"))) {
      root = root.getParent();
    }
    if (root == null) {
      throw new IllegalStateException("no deploy/ folder above " + System.getProperty("user.dir"));
    }
    return root.resolve("deploy").resolve(relative);
  }

  /** A fresh scratch folder under target/. */
  static Path scratch(String name) throws IOException {
    return Files.createDirectories(Path.of("target", "deploy-tests", name + "-" + System.nanoTime())
        .toAbsolutePath());
  }

  /**
   * The first of {@code candidates} that is an executable file. When there is none the test is
   * skipped, except with {@code CI=true}: {@code .ci/run} installs every tool, so there it fails.
   */
  static Path tool(String what, String... candidates) {
    return find(what, true, candidates);
  }

  /** As {@link #tool}, for a file that need not be executable (an nginx module). */
  static Path file(String what, String... candidates) {
    return find(what, false, candidates);
  }

  private static Path find(String what, boolean executable, String... candidates) {
    for (String c : candidates) {
      Path p = Path.of(c);
      if (executable ? Files.isExecutable(p) : Files.isRegularFile(p)) {
        return p;
      }
    }
    String message = what + " not found (looked for " + String.join(", ", candidates) + ")";
    if ("true".equals(System.getenv("CI"))) {
      fail(message + "; CI=true, so this test must run (.ci/run installs it)");
    }
    Assumptions.abort(message + "; skipping");
    throw new AssertionError("unreachable");
  }
}
