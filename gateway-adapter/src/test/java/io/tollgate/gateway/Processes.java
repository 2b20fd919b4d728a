package io.tollgate.gateway;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Test fixtures: free ports, the packaged limiter and adapter jars as real processes, and a
 * short-poll wait.
 */
final class Processes {

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();
  static final Path ADAPTER_JAR = Path.of("target", "gateway-adapter.jar");
  static final Path LIMITER_JAR = Path.of("..", "limiter-service", "target", "limiter-service.jar");
  private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

  private Processes() {}

  /**
   * A port free on 127.0.0.1 a moment ago, from 20000-32767: below Linux's ephemeral range, so
   * an outgoing connection cannot take it between this check and the bind.
   */
  static int freePort() {
    for (int attempt = 0; attempt < 1_000; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(20_000, 32_768);
      if (!GIVEN.add(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return port;
      } catch (IOException taken) {
        // another
      }
    }
    throw new IllegalStateException("no free port");
  }

  /** A started process whose output goes to files under target/process-logs. */
  static final class Proc implements AutoCloseable {
    final Process process;
    final Path out;
    final Path err;

    Proc(String name, List<String> args) throws IOException {
      Path dir = Path.of("target", "process-logs");
      Files.createDirectories(dir);
      out = dir.resolve(name + "-" + System.nanoTime() + ".out");
      err = dir.resolve(name + "-" + System.nanoTime() + ".err");
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("-Xmx256m");
      cmd.addAll(args);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile())
          .redirectError(err.toFile());
      pb.environment().keySet().removeIf(k -> k.startsWith("RL_") || k.startsWith("GW_"));
      process = pb.start();
    }

    String stdout() {
      return read(out);
    }

    String stderr() {
      return read(err);
    }

    private static String read(Path p) {
      try {
        return Files.readString(p);
      } catch (IOException e) {
        return "(" + e + ")";
      }
    }

    /** Waits until GET {@code url} answers 200. */
    Proc awaitHealthy(String url, Duration timeout) {
      await(url + " healthy", timeout, () -> {
        if (!process.isAlive()) {
          throw new AssertionError("exited with " + process.exitValue() + "\n" + stderr()
              + stdout());
        }
        try {
          return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2))
              .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
          return false;
        }
      });
      return this;
    }

    int waitFor(Duration timeout) throws InterruptedException {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("no exit within " + timeout);
      }
      return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
      if (process.isAlive()) {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      }
    }
  }

  /** The packaged adapter jar, run with {@code java -jar}. */
  static Proc adapter(String name, Path config, int port, int adminPort, String limiter,
      String... extra) throws IOException {
    List<String> args = new ArrayList<>(List.of("-jar", ADAPTER_JAR.toString(), "--config",
        config.toString(), "--port", Integer.toString(port), "--admin-port",
        Integer.toString(adminPort), "--limiter", limiter, "--reload-interval-ms", "200"));
    args.addAll(List.of(extra));
    return new Proc(name, args);
  }

  /** Closes each of {@code parts} that was started (not null), in order. */
  static void closeAll(AutoCloseable... parts) throws Exception {
    for (AutoCloseable p : parts) {
      if (p != null) {
        p.close();
      }
    }
  }

  /** Polls {@code condition} every 50 ms until it holds or {@code timeout} passes. */
  static void await(String what, Duration timeout, Check condition) {
    long end = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        if (condition.holds()) {
          return;
        }
      } catch (Exception e) {
        if (e instanceof RuntimeException r) {
          throw r;
        }
      }
      if (System.nanoTime() > end) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted");
      }
    }
  }

  @FunctionalInterface
  interface Check {
    boolean holds() throws Exception;
  }
}
