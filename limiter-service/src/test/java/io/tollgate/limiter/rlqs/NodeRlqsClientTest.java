package io.tollgate.limiter.rlqs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.envoyproxy.envoy.service.rate_limit_quota.v3.RateLimitQuotaServiceGrpc;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wire compatibility from a second implementation: a Node.js client on {@code @grpc/grpc-js} and
 * {@code @grpc/proto-loader}, loading the RLQS .proto files of the Envoy API jar, opens a stream
 * and reads its first assignment. npm installs the two packages into {@code target/rlqs-node}.
 * Node and npm must be installed ({@code .ci/run} installs them on CI).
 */
class NodeRlqsClientTest {

  private static final Path WORK = Path.of("target", "rlqs-node").toAbsolutePath();

  @TempDir
  Path dir;

  @Test
  void nodeGrpcJsClientGetsItsFirstAssignment() throws Exception {
    requireTool("node", "--version");
    requireTool("npm", "--version");
    Path protos = WORK.resolve("protos");
    extractProtos(jarOf(RateLimitQuotaServiceGrpc.class), protos);
    // The well-known types (duration, wrappers, descriptor) ship inside protobuf-java.
    extractProtos(jarOf(com.google.protobuf.Duration.class), protos);
    if (!Files.isDirectory(WORK.resolve("node_modules/@grpc/grpc-js"))
        || !Files.isDirectory(WORK.resolve("node_modules/@grpc/proto-loader"))) {
      Run npm = run(WORK, 300, "npm", "install", "--no-audit", "--no-fund", "--prefix",
          WORK.toString(), "@grpc/grpc-js@1.14.7", "@grpc/proto-loader@0.8.1");
      assertEquals(0, npm.code, "npm install failed:\n" + npm.output);
    }
    Path script = WORK.resolve("rlqs-client.js");
    try (InputStream in = getClass().getResourceAsStream("/rlqs/rlqs-client.js")) {
      Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
    }
    Path config = dir.resolve("rules.yaml");
    Files.writeString(config, """
        domain: node
        descriptors:
          - key: tenant
            rate_limit: {unit: second, requests_per_unit: 40}
        """);
    try (InJvmLimiter limiter = InJvmLimiter.start(config, new FakeClock())) {
      Run node = run(WORK, 60, "node", script.toString(), protos.toString(),
          "127.0.0.1:" + limiter.grpcPort(), "node", "tenant=acme");
      assertEquals(0, node.code, node.output);
      String json = node.output.strip();
      // proto-loader keeps field names as in the .proto file (keepCase).
      assertTrue(json.contains("\"bucket_action\":[{\"bucket_id\":{\"bucket\":{\"tenant\":\"acme\"}}"),
          json);
      assertTrue(json.contains("\"quota_assignment_action\""), json);
      assertTrue(json.contains("\"assignment_time_to_live\":{\"seconds\":\"3\""), json);
      // 3 a second reported, 40 a second limit: want 4 (25% headroom) -> bucket 1, refill 3.
      assertTrue(json.contains("\"token_bucket\":{\"max_tokens\":1,\"tokens_per_fill\":{\"value\":3}"),
          json);
    }
  }

  private static void requireTool(String tool, String arg) throws Exception {
    try {
      Run r = run(WORK.getParent(), 30, tool, arg);
      if (r.code == 0) {
        return;
      }
    } catch (java.io.IOException e) {
      // reported below
    }
    fail(tool + " is not installed: this test needs Node.js and npm (apt-get install nodejs npm; "
        + ".ci/run does it on CI)");
  }

  private static Path jarOf(Class<?> type) throws Exception {
    return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  private static void extractProtos(Path jar, Path to) throws Exception {
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        if (e.isDirectory() || !e.getName().endsWith(".proto")) {
          continue;
        }
        Path out = to.resolve(e.getName()).normalize();
        if (!out.startsWith(to)) {
          continue;
        }
        Files.createDirectories(out.getParent());
        try (InputStream in = zip.getInputStream(e)) {
          Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private record Run(int code, String output) {}

  private static Run run(Path cwd, int timeoutSeconds, String... command) throws Exception {
    Files.createDirectories(cwd);
    List<String> cmd = new ArrayList<>(List.of(command));
    Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s");
    }
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
