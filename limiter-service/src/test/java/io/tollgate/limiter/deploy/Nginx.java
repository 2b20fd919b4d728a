package io.tollgate.limiter.deploy;

import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Debian's nginx, started in the foreground as one process ({@code master_process off}) with a
 * temporary prefix: its own pid file, logs and temp folders, and the given {@code http {}}
 * content. {@link #close()} stops it.
 */
final class Nginx implements AutoCloseable {

  private final Process process;
  private final Path dir;
  final int port;

  private Nginx(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
  }

  /**
   * Starts nginx.
   *
   * @param mainContext lines for the main context (e.g. {@code load_module})
   * @param http the content of the {@code http {}} block; {@code LISTEN_PORT} in it is replaced
   *     by a free loopback port, which nginx must listen on
   */
  static Nginx start(String name, String mainContext, String http) throws Exception {
    Path binary = Deploy.nginx();
    Path dir = Deploy.scratch("nginx-" + name);
    for (String t : new String[] {"body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      Files.createDirectories(dir.resolve("tmp").resolve(t));
    }
    int port = FreePorts.next();
    String conf = mainContext + "\n"
        + "daemon off;\nmaster_process off;\n"
        + "pid " + dir.resolve("nginx.pid") + ";\n"
        + "error_log " + dir.resolve("error.log") + " info;\n"
        + "events { worker_connections 256; }\n"
        + "http {\n"
        + "  access_log " + dir.resolve("access.log") + ";\n"
        + "  client_body_temp_path " + dir.resolve("tmp/body") + ";\n"
        + "  proxy_temp_path " + dir.resolve("tmp/proxy") + ";\n"
        + "  fastcgi_temp_path " + dir.resolve("tmp/fastcgi") + ";\n"
        + "  uwsgi_temp_path " + dir.resolve("tmp/uwsgi") + ";\n"
        + "  scgi_temp_path " + dir.resolve("tmp/scgi") + ";\n"
        + http.replace("LISTEN_PORT", Integer.toString(port)) + "\n}\n";
    Path confFile = dir.resolve("nginx.conf");
    Files.writeString(confFile, conf);
    Process p = new ProcessBuilder(binary.toString(), "-p", dir.toString(), "-c",
        confFile.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("stdout.log").toFile()).start();
    Nginx nginx = new Nginx(p, dir, port);
    try {
      Awaits.await("nginx on port " + port, Duration.ofSeconds(20), () -> {
        if (!p.isAlive()) {
          throw new AssertionError("nginx exited with " + p.exitValue() + ":\n" + nginx.logs()
              + "\n--- nginx.conf ---\n" + conf);
        }
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 200);
          return true;
        } catch (IOException e) {
          return false;
        }
      });
    } catch (RuntimeException | Error e) {
      nginx.close();
      throw e;
    }
    return nginx;
  }

  /** Its output and error log. */
  String logs() {
    StringBuilder sb = new StringBuilder();
    for (String f : new String[] {"stdout.log", "error.log"}) {
      try {
        sb.append("--- ").append(f).append(" ---\n").append(Files.readString(dir.resolve(f)));
      } catch (IOException e) {
        sb.append("(no ").append(f).append(")\n");
      }
    }
    return sb.toString();
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
