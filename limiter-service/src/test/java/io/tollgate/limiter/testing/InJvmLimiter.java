package io.tollgate.limiter.testing;

import io.tollgate.limiter.LimiterServer;
import io.tollgate.limiter.Settings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import picocli.CommandLine;

/**
 * A full limiter (grid member, gRPC, HTTP) in the test JVM, on free loopback ports, reading time
 * from a {@link FakeClock}. Each one is a standalone member of its own uniquely named cluster
 * unless {@code --members} is passed.
 */
public final class InJvmLimiter implements AutoCloseable {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final LimiterServer server;
  public final RlsClient client;
  public final int clusterPort;

  private InJvmLimiter(LimiterServer server, int clusterPort) {
    this.server = server;
    this.clusterPort = clusterPort;
    this.client = new RlsClient(server.grpcPort());
  }

  /** Starts a limiter; extra flags are appended to the defaults. */
  public static InJvmLimiter start(Path config, FakeClock clock, String... extraArgs)
      throws Exception {
    return start(config, clock, FreePorts.next(), extraArgs);
  }

  /** Starts a limiter with a given cluster port. */
  public static InJvmLimiter start(Path config, FakeClock clock, int clusterPort,
      String... extraArgs) throws Exception {
    List<String> args = new ArrayList<>(List.of("--config", config.toString(),
        "--grpc-port", "0", "--http-port", "0", "--cluster-port", Integer.toString(clusterPort),
        "--reload-interval-ms", "100"));
    // Members meant to join each other pass one --cluster-name; others get their own.
    if (!List.of(extraArgs).contains("--cluster-name")) {
      args.addAll(List.of("--cluster-name", "test-" + UUID.randomUUID()));
    }
    args.addAll(List.of(extraArgs));
    args.addAll(LimiterProcess.dataDirUnlessGiven("in-jvm", extraArgs));
    Settings settings = new Settings();
    new CommandLine(settings).parseArgs(args.toArray(String[]::new));
    LimiterServer server = new LimiterServer(settings, clock);
    try {
      server.start();
    } catch (Exception e) {
      server.stop();
      throw e;
    }
    return new InJvmLimiter(server, clusterPort);
  }

  public int grpcPort() {
    return server.grpcPort();
  }

  public int httpPort() {
    return server.httpPort();
  }

  /** GET on the HTTP port. */
  public HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** POST on the HTTP port. */
  public HttpResponse<String> post(String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The value of one sample in /metrics, or 0 when absent. */
  public double metric(String sample) {
    String text;
    try {
      text = get("/metrics").body();
    } catch (Exception e) {
      throw new IllegalStateException("cannot read /metrics", e);
    }
    for (String line : text.split("\n")) {
      if (line.startsWith(sample + " ")) {
        return Double.parseDouble(line.substring(sample.length() + 1).trim());
      }
    }
    return 0;
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.httpPort() + path);
  }

  /** Stops the server as SIGTERM would. */
  public void stop() {
    server.stop();
  }

  @Override
  public void close() throws Exception {
    client.close();
    server.stop();
  }
}
