package io.tollgate.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's tour, run as a reader runs it: every fenced block whose info string is {@code sh
 * tested}, in order, in one bash process, in a scratch directory that links to the packaged jars,
 * {@code bin/} and {@code deploy/} of this clone. After each block its output must contain the
 * lines the block shows with {@code #>}, in order ({@code ...} in such a line matches anything:
 * ids, key values, times).
 *
 * <p>The tour's ports are variables with defaults ({@code RL_HTTP_PORT=${RL_HTTP_PORT:-8080}}
 * and the like); this test sets every one to a free port, so it runs beside anything listening
 * on the defaults. Each background start in the README waits for its service with a bounded loop,
 * and this test bounds the whole tour, so a slow, loaded machine makes it slower, not flaky.
 */
class ReadmeTourIT {

  /** The whole tour: about a minute on an idle 2-core machine. */
  private static final long TOUR_TIMEOUT_SECONDS = 900;

  /** Every port variable the tour reads. */
  private static final List<String> PORTS = List.of("RL_HTTP_PORT", "RL_GRPC_PORT",
      "RL_CLUSTER_PORT", "GW_PORT", "GW_ADMIN_PORT", "UPSTREAM_PORT", "HTTP_PORT_2",
      "GRPC_PORT_2", "CLUSTER_PORT_2");

  private static final String MARK = "@@readme-block ";

  /** A tested block: the line of its opening fence (from 1), its lines, its shown output. */
  record Block(int line, List<String> script, List<String> expected) {}

  @Test
  void theToursBlocksRunAsWrittenAndPrintWhatTheyShow() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    for (String jar : new String[] {"limiter-service/target/limiter-service.jar",
        "gateway-adapter/target/gateway-adapter.jar"}) {
      assertTrue(Files.isRegularFile(root.resolve(jar)),
          jar + " is missing: this test runs after the jars are packaged (mvn verify)");
    }
    List<Block> blocks = blocks(Files.readString(root.resolve("README.md")));
    assertFalse(blocks.isEmpty(), "README.md has no ```sh tested blocks");

    Path scratch = Files.createDirectories(Path.of("target", "readme-tour-" + System.nanoTime())
        .toAbsolutePath());
    for (String linked : new String[] {"bin", "deploy", "limiter-service", "gateway-adapter"}) {
      Files.createSymbolicLink(scratch.resolve(linked), root.resolve(linked));
    }
    Path tmp = Files.createDirectories(scratch.resolve("tmp"));
    StringBuilder script = new StringBuilder();
    // Not in the README: whatever a failed tour left running goes with the shell.
    script.append("trap 'kill $(jobs -p) 2>/dev/null' EXIT\n");
    for (int i = 0; i < blocks.size(); i++) {
      script.append("echo '").append(MARK).append(i).append("@@'\n");
      for (String l : blocks.get(i).script()) {
        script.append(l).append('\n');
      }
    }
    Path scriptFile = scratch.resolve("tour.sh");
    Files.writeString(scriptFile, script);

    ProcessBuilder pb = new ProcessBuilder("bash", scriptFile.toString())
        .directory(scratch.toFile()).redirectErrorStream(true)
        .redirectOutput(scratch.resolve("tour.out").toFile());
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("RL_") || k.startsWith("GW_")
        || k.startsWith("TOLLGATE_") || PORTS.contains(k));
    env.put("TMPDIR", tmp.toString());
    List<Integer> ports = freePorts(PORTS.size());
    for (int i = 0; i < PORTS.size(); i++) {
      env.put(PORTS.get(i), Integer.toString(ports.get(i)));
    }
    Process bash = pb.start();
    boolean finished;
    try {
      finished = bash.waitFor(TOUR_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } finally {
      bash.descendants().forEach(ProcessHandle::destroyForcibly);
      bash.destroyForcibly();
    }
    String out = Files.readString(scratch.resolve("tour.out"));
    if (!finished) {
      fail("the tour did not finish within " + TOUR_TIMEOUT_SECONDS + " s:\n" + out
          + logs(tmp));
    }
    List<List<String>> outputs = split(out, blocks.size());
    for (int i = 0; i < blocks.size(); i++) {
      Block b = blocks.get(i);
      String missing = firstUnmatched(b.expected(), outputs.get(i));
      if (missing != null) {
        fail("README.md block at line " + b.line() + " did not print\n  " + missing
            + "\nin order; its output was:\n" + String.join("\n", outputs.get(i))
            + "\n\nthe whole tour:\n" + out + logs(tmp));
      }
    }
    assertEquals(0, bash.exitValue(), "the tour's last command failed:\n" + out);
  }

  /** The {@code ```sh tested} blocks of a Markdown text, in order. */
  static List<Block> blocks(String markdown) {
    List<Block> blocks = new ArrayList<>();
    String[] lines = markdown.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      if (!lines[i].strip().equals("```sh tested")) {
        continue;
      }
      int start = i + 1;
      List<String> script = new ArrayList<>();
      List<String> expected = new ArrayList<>();
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) {
        if (lines[i].startsWith("#> ")) {
          expected.add(lines[i].substring(3));
        } else {
          script.add(lines[i]);
        }
      }
      blocks.add(new Block(start, script, expected));
    }
    return blocks;
  }

  /**
   * The first of {@code expected} not found in {@code output} after the ones before it, or
   * {@code null} when all are there in order.
   */
  static String firstUnmatched(List<String> expected, List<String> output) {
    int at = 0;
    for (String e : expected) {
      String regex = pattern(e);
      while (at < output.size() && !output.get(at).stripTrailing().matches(regex)) {
        at++;
      }
      if (at == output.size()) {
        return e;
      }
      at++;
    }
    return null;
  }

  /** A shown line as a regular expression: literal, but {@code ...} matches anything. */
  static String pattern(String shown) {
    StringBuilder regex = new StringBuilder();
    String[] parts = shown.stripTrailing().split("\\.\\.\\.", -1);
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) {
        regex.append(".*");
      }
      if (!parts[i].isEmpty()) {
        regex.append(java.util.regex.Pattern.quote(parts[i]));
      }
    }
    return regex.toString();
  }

  private static List<List<String>> split(String out, int blocks) {
    List<List<String>> outputs = new ArrayList<>();
    for (int i = 0; i < blocks; i++) {
      outputs.add(new ArrayList<>());
    }
    int current = -1;
    for (String line : out.split("\n", -1)) {
      if (line.startsWith(MARK)) {
        current = Integer.parseInt(line.substring(MARK.length(), line.length() - 2));
      } else if (current >= 0) {
        outputs.get(current).add(line);
      }
    }
    return outputs;
  }

  private static List<Integer> freePorts(int n) throws IOException {
    List<ServerSocket> held = new ArrayList<>();
    try {
      List<Integer> ports = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        held.add(s);
        ports.add(s.getLocalPort());
      }
      return ports;
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
  }

  /** The last lines of each log the tour left, for a failure message. */
  private static String logs(Path tmp) throws IOException {
    StringBuilder sb = new StringBuilder();
    try (Stream<Path> files = Files.walk(tmp)) {
      for (Path log : files.filter(p -> p.toString().endsWith(".log")).sorted().toList()) {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        sb.append("\n--- ").append(tmp.relativize(log)).append(" (last 40 lines)\n");
        sb.append(String.join("\n", lines.subList(Math.max(0, lines.size() - 40),
            lines.size())));
      }
    }
    return sb.toString();
  }
}
