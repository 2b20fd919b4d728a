package io.tollgate.limiter.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Node.js gRPC clients ({@code @grpc/grpc-js} and {@code @grpc/proto-loader}), a second
 * implementation the wire tests talk to the limiter with.
 *
 * <p>The packages are installed once per build into {@code target/node-clients/node_modules},
 * from {@code deploy/envoy/contract/package.json} (the one place their versions are set): the
 * first test that needs them runs {@code npm install} under a file lock, later tests (and later
 * builds until {@code mvn clean}) find them installed. Scripts are copied into that directory so
 * that {@code require} finds the packages. The Envoy and well-known {@code .proto} files are
 * extracted next to them, from the jars the Java classes come from.
 *
 * <p>Without {@code node} or {@code npm} the calling test is skipped (failed under
 * {@code CI=true}), see {@link Tools}.
 */
public final class NodeClients {

  private static final long INSTALL_TIMEOUT_SECONDS = 600;
  private static NodeClients installed;

  private final Path dir;
  private final Path node;

  private NodeClients(Path dir, Path node) {
    this.dir = dir;
    this.node = node;
  }

  /** The installed clients; installs them on the first call of the build. */
  public static synchronized NodeClients get() throws Exception {
    Path node = Tools.executable("node", "apt-get install nodejs", "/usr/local/bin/node");
    Path npm = Tools.executable("npm", "apt-get install npm", "/usr/local/bin/npm");
    if (installed != null) {
      return installed;
    }
    Path dir = Files.createDirectories(Path.of("target", "node-clients").toAbsolutePath());
    Path wanted = repositoryRoot().resolve("deploy/envoy/contract/package.json");
    Path marker = dir.resolve("installed-package.json");
    try (FileChannel lockFile = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
      if (!Files.isRegularFile(marker) || Files.mismatch(marker, wanted) != -1) {
        Files.copy(wanted, dir.resolve("package.json"), StandardCopyOption.REPLACE_EXISTING);
        run(dir, INSTALL_TIMEOUT_SECONDS, npm.toString(), "install", "--no-audit", "--no-fund",
            "--loglevel=error");
        Files.copy(wanted, marker, StandardCopyOption.REPLACE_EXISTING);
      }
      Path protos = dir.resolve("protos");
      extractProtos(RateLimitServiceGrpc.class, protos);
      // The well-known types (duration, wrappers, struct) ship inside protobuf-java.
      extractProtos(com.google.protobuf.Duration.class, protos);
    }
    installed = new NodeClients(dir, node);
    return installed;
  }

  /** The folder holding {@code node_modules}, {@code protos} and the copied scripts. */
  public Path dir() {
    return dir;
  }

  /** The include directory for proto-loader: Envoy's RLS and RLQS files and their imports. */
  public Path protos() {
    return dir.resolve("protos");
  }

  /** Copies a script into {@link #dir()} under {@code name} and returns its path. */
  public Path script(String name, InputStream content) throws IOException {
    Path script = dir.resolve(name);
    Files.copy(content, script, StandardCopyOption.REPLACE_EXISTING);
    return script;
  }

  /** Runs {@code node script args...} in {@link #dir()}; the exit code and the merged output. */
  public Result run(long timeoutSeconds, Path script, String... args) throws Exception {
    String[] command = Stream.concat(Stream.of(node.toString(), script.toString()),
        Stream.of(args)).toArray(String[]::new);
    return exec(dir, timeoutSeconds, command);
  }

  /** How a command ended. */
  public record Result(int code, String output) {}

  private static void run(Path cwd, long timeoutSeconds, String... command) throws Exception {
    Result r = exec(cwd, timeoutSeconds, command);
    if (r.code() != 0) {
      fail(String.join(" ", command) + " failed (exit " + r.code() + "):\n" + r.output());
    }
  }

  private static Result exec(Path cwd, long timeoutSeconds, String... command) throws Exception {
    Process p = new ProcessBuilder(List.of(command)).directory(cwd.toFile())
        .redirectErrorStream(true).start();
    p.getOutputStream().close();
    // Read on another thread so a stuck process cannot outlive the timeout.
    StringBuilder out = new StringBuilder();
    Thread reader = new Thread(() -> {
      try (InputStream in = p.getInputStream()) {
        out.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        out.append("(output unreadable: ").append(e).append(')');
      }
    }, "node-output");
    reader.start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s");
    }
    reader.join(TimeUnit.SECONDS.toMillis(10));
    return new Result(p.exitValue(), out.toString());
  }

  /** Copies the .proto files beside {@code type}'s class (a jar or a classes folder). */
  private static void extractProtos(Class<?> type, Path to) throws Exception {
    Path source = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    if (Files.isDirectory(source)) {
      try (Stream<Path> files = Files.walk(source)) {
        for (Path f : files.filter(f -> f.toString().endsWith(".proto")).toList()) {
          Path target = to.resolve(source.relativize(f).toString());
          Files.createDirectories(target.getParent());
          Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
      return;
    }
    try (InputStream in = Files.newInputStream(source);
        ZipInputStream zip = new ZipInputStream(in)) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        if (!e.isDirectory() && e.getName().endsWith(".proto")) {
          Path target = to.resolve(e.getName()).normalize();
          if (!target.startsWith(to)) {
            continue;
          }
          Files.createDirectories(target.getParent());
          Files.copy(zip, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private static Path repositoryRoot() {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (root != null && !Files.isDirectory(root.resolve("deploy"))) {
      root = root.getParent();
    }
    if (root == null) {
      throw new IllegalStateException("no deploy/ folder above " + System.getProperty("user.dir"));
    }
    return root;
  }
}
