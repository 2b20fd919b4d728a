package io.tollgate.limiter.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;

/**
 * The tools installed outside the JDK and Maven that some tests need (nginx, its Lua module,
 * Node.js and npm, PostgreSQL), found on {@code PATH} or in their packages' usual places.
 *
 * <p>A test whose tool is missing is skipped, and the test JVM's output gets one line naming the
 * test, the tool and how to install it, so {@code mvn -B verify} on a machine with only JDK 17 and
 * Maven passes and says what it did not run. With the environment variable {@code CI=true} the
 * test fails instead: {@code .ci/run} installs every tool, so there nothing may be skipped.
 */
public final class Tools {

  private static final Set<String> REPORTED = Collections.synchronizedSet(new HashSet<>());

  private Tools() {}

  /**
   * The executable {@code name} from {@code PATH}, else the first executable of {@code places};
   * skips (or, under CI, fails) the calling test when there is none.
   *
   * @param install how to get it, for the message (e.g. {@code apt-get install nginx})
   */
  public static Path executable(String name, String install, String... places) {
    Path found = onPath(name, System.getenv());
    if (found != null) {
      return found;
    }
    for (String p : places) {
      if (Files.isExecutable(Path.of(p))) {
        return Path.of(p);
      }
    }
    List<String> looked = new ArrayList<>();
    looked.add("PATH");
    looked.addAll(List.of(places));
    throw missing(name, install, looked);
  }

  /** The first of {@code candidates} that is a regular file; skips or fails as above. */
  public static Path file(String what, String install, String... candidates) {
    for (String c : candidates) {
      if (Files.isRegularFile(Path.of(c))) {
        return Path.of(c);
      }
    }
    throw missing(what, install, List.of(candidates));
  }

  /** {@code name} in a directory of {@code env}'s {@code PATH}, or {@code null}. */
  static Path onPath(String name, Map<String, String> env) {
    String path = env.get("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /**
   * Skips the calling test (fails it under {@code CI=true}) because {@code what} is missing, and
   * prints one line saying so.
   *
   * @return never returns normally; declared so callers can write {@code throw Tools.missing(..)}
   */
  public static AssertionError missing(String what, String install, List<String> looked) {
    return missing(what, install, looked, System.out);
  }

  /** As {@link #missing(String, String, List)}, reporting to {@code report}. */
  static AssertionError missing(String what, String install, List<String> looked,
      PrintStream report) {
    String test = callingTest();
    String message = what + " not found (looked in " + String.join(", ", looked) + "; install: "
        + install + ")";
    boolean ci = "true".equals(System.getenv("CI"));
    if (REPORTED.add(test + " " + what)) {
      report.println((ci ? "FAILED " : "SKIPPED ") + test + ": " + message
          + (ci ? "; CI=true, so it must run" : "; .ci/run installs it and runs this test"));
    }
    if (ci) {
      fail(message + "; CI=true, so this test must run (.ci/run installs it)");
    }
    Assumptions.abort(message + "; skipping");
    return new AssertionError("unreachable");
  }

  /** The simple name of the test class on the stack, for the one-line report. */
  private static String callingTest() {
    return StackWalker.getInstance().walk(frames -> frames
        .map(StackWalker.StackFrame::getClassName)
        .map(c -> c.substring(c.lastIndexOf('.') + 1))
        .map(c -> c.contains("$") ? c.substring(0, c.indexOf('$')) : c)
        .filter(c -> c.endsWith("Test") || c.endsWith("IT"))
        .findFirst()
        .orElse("a test"));
  }
}
