package io.tollgate.limiter.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A limiter in its own JVM, started from the test class path with the same module openings the
 * jar's manifest grants. Output goes to a log file under {@code target/}. {@link #close()} kills
 * it if it is still running.
 */
public final class LimiterProcess implements AutoCloseable {

  /** Flags the packaged jar gets from its manifest. */
  public static final List<String> JVM_FLAGS = List.of("--add-modules", "java.se",
      "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang=ALL-UNNAMED",
      "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens", "java.management/sun.management=ALL-UNNAMED",
      "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED");

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();

  private final Process process;
  private final Path log;
  public final int grpcPort;
  public final int httpPort;
  public final int clusterPort;

  private LimiterProcess(Process process, Path log, int grpcPort, int httpPort, int clusterPort) {
    this.process = process;
    this.log = log;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.clusterPort = clusterPort;
  }

  /** Starts a limiter from the test class path on free ports; does not wait for it. */
  public static LimiterProcess start(String name, Path config, int clusterPort,
      String... extraArgs) throws IOException {
    List<String> launch = new ArrayList<>();
    launch.add("-Xmx256m");
    launch.addAll(JVM_FLAGS);
    launch.add("-cp");
    launch.add(System.getProperty("java.class.path"));
    launch.add("io.tollgate.limiter.LimiterMain");
    return start(name, launch, config, clusterPort, extraArgs);
  }

  /** Starts a limiter from the test class path with extra JVM arguments; does not wait for it. */
  public static LimiterProcess startWithJvmArgs(String name, List<String> jvmArgs, Path config,
      int clusterPort, String... extraArgs) throws IOException {
    List<String> launch = new ArrayList<>();
    launch.add("-Xmx256m");
    launch.addAll(JVM_FLAGS);
    launch.addAll(jvmArgs);
    launch.add("-cp");
    launch.add(System.getProperty("java.class.path"));
    launch.add("io.tollgate.limiter.LimiterMain");
    return start(name, launch, config, clusterPort, extraArgs);
  }

  /**
   * Starts the packaged jar exactly as the README does, {@code java -jar JAR}, with no JVM flags.
   */
  public static LimiterProcess startJar(String name, Path jar, Path config, int clusterPort,
      String... extraArgs) throws IOException {
    return start(name, List.of("-jar", jar.toString()), config, clusterPort, extraArgs);
  }

  private static LimiterProcess start(String name, List<String> launch, Path config,
      int clusterPort, String... extraArgs) throws IOException {
    int grpc = FreePorts.next();
    int http = FreePorts.next();
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(launch);
    cmd.addAll(List.of("--config", config.toString(), "--grpc-port", Integer.toString(grpc),
        "--http-port", Integer.toString(http), "--cluster-port", Integer.toString(clusterPort)));
    cmd.addAll(List.of(extraArgs));
    cmd.addAll(dataDirUnlessGiven(name, extraArgs));
    Path logDir = Path.of("target", "process-logs");
    Files.createDirectories(logDir);
    Path log = logDir.resolve(name + "-" + System.nanoTime() + ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("RL_"));
    return new LimiterProcess(pb.start(), log, grpc, http, clusterPort);
  }

  /**
   * {@code --data-dir} of a fresh directory under target/, unless the arguments name a data dir
   * or a database: tests never share the embedded database by accident.
   */
  public static List<String> dataDirUnlessGiven(String name, String... args) {
    for (String a : args) {
      if (a.startsWith("--data-dir") || a.startsWith("--db-url")) {
        return List.of();
      }
    }
    return List.of("--data-dir", Path.of("target", "test-data", name + "-" + System.nanoTime())
        .toAbsolutePath().toString());
  }

  /** Runs the limiter's main with these arguments to completion and returns exit code and output. */
  public static Result run(Duration timeout, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(JVM_FLAGS);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.tollgate.limiter.LimiterMain");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("RL_"));
    Process p = pb.start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("did not exit within " + timeout);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  /** Exit code and combined output of a finished run. */
  public record Result(int exitCode, String output) {}

  /** Waits until /healthz answers 200. */
  public LimiterProcess awaitReady(Duration timeout) {
    try {
      Awaits.await("limiter on gRPC port " + grpcPort + " to be ready", timeout, () -> {
        if (!process.isAlive()) {
          throw new AssertionError("limiter exited with " + process.exitValue() + ":\n" + log());
        }
        return httpGet("/healthz").statusCode() == 200;
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\n--- log ---\n" + log(), e);
    }
    return this;
  }

  /** GET on the HTTP port. */
  public HttpResponse<String> httpGet(String path) {
    return http(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10)).GET().build());
  }

  /** POST on the HTTP port. */
  public HttpResponse<String> httpPost(String path, String body) {
    return http(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + httpPort + path);
  }

  private static HttpResponse<String> http(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Sends SIGTERM and waits for the exit code. */
  public int terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("no exit within " + timeout + " of SIGTERM\n" + log());
    }
    return process.exitValue();
  }

  /** Kills the process at once (SIGKILL), as a crash would. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** Whether it is still running. */
  public boolean isAlive() {
    return process.isAlive();
  }

  /** What the process printed so far. */
  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
