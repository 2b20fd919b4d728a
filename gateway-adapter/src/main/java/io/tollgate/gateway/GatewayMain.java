package io.tollgate.gateway;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar gateway-adapter.jar --config FILE [flags]}. Exit codes: 0 after SIGTERM or
 * SIGINT, 1 for a bad config or a failed start, 2 for bad flags.
 */
@Command(name = "gateway-adapter", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Tollgate's HTTP gateway: API keys, throttling and quotas decided by the "
        + "limiter, a response cache per stage, and a reverse proxy to the routes' upstreams.%n"
        + "Every flag may also be set by the environment variable in brackets.")
public final class GatewayMain implements Callable<Integer> {

  @Option(names = "--config", required = true, defaultValue = "${env:GW_CONFIG}",
      description = "the adapter's YAML config file (GW_CONFIG)")
  Path config;

  @Option(names = "--bind", defaultValue = "${env:GW_BIND:-127.0.0.1}",
      description = "address both ports listen on (GW_BIND; default ${DEFAULT-VALUE})")
  String bind;

  @Option(names = "--port", defaultValue = "${env:GW_PORT:-8000}",
      description = "proxy port, HTTP/1.1 and h2c (GW_PORT; default ${DEFAULT-VALUE})")
  int port;

  @Option(names = "--admin-port", defaultValue = "${env:GW_ADMIN_PORT:-8001}",
      description = "metrics, health and cache flush port (GW_ADMIN_PORT; default "
          + "${DEFAULT-VALUE})")
  int adminPort;

  @Option(names = "--limiter", defaultValue = "${env:GW_LIMITER:-127.0.0.1:8081}",
      description = "the limiter's gRPC address host:port (GW_LIMITER; default ${DEFAULT-VALUE})")
  String limiter;

  @Option(names = "--admin-token", defaultValue = "${env:GW_ADMIN_TOKEN}",
      description = "bearer token of POST /admin/stages/{stage}/cache/flush, at least 16 "
          + "characters; none closes it (GW_ADMIN_TOKEN)")
  String adminToken;

  @Option(names = "--admin-token-file", defaultValue = "${env:GW_ADMIN_TOKEN_FILE}",
      description = "a file holding the admin token instead (GW_ADMIN_TOKEN_FILE)")
  Path adminTokenFile;

  @Option(names = "--access-log", defaultValue = "${env:GW_ACCESS_LOG:--}",
      description = "'-' for standard output, 'off', or a file to append JSON lines to "
          + "(GW_ACCESS_LOG; default ${DEFAULT-VALUE})")
  String accessLog;

  @Option(names = "--reload-interval-ms", defaultValue = "${env:GW_RELOAD_INTERVAL_MS:-1000}",
      description = "how often the config file is checked for changes (GW_RELOAD_INTERVAL_MS; "
          + "default ${DEFAULT-VALUE})")
  long reloadIntervalMillis;

  @Option(names = "--drain-seconds", defaultValue = "${env:GW_DRAIN_SECONDS:-10}",
      description = "on SIGTERM, how long requests in flight may take (GW_DRAIN_SECONDS; "
          + "default ${DEFAULT-VALUE})")
  int drainSeconds;

  @Option(names = "--tls-cert", defaultValue = "${env:GW_TLS_CERT}",
      description = "PEM certificate chain: with --tls-key, both ports speak TLS only (HTTPS, "
          + "HTTP/2 by ALPN); re-read when it changes (GW_TLS_CERT; default: plaintext)")
  Path tlsCert;

  @Option(names = "--tls-key", defaultValue = "${env:GW_TLS_KEY}",
      description = "PEM (PKCS#8) private key of --tls-cert (GW_TLS_KEY)")
  Path tlsKey;

  @Option(names = "--tls-client-ca", defaultValue = "${env:GW_TLS_CLIENT_CA}",
      description = "PEM CA certificates: clients must present a certificate issued by one "
          + "(mTLS); needs --tls-cert (GW_TLS_CLIENT_CA; default: no client certificate)")
  Path tlsClientCa;

  @Option(names = "--limiter-tls", defaultValue = "${env:GW_LIMITER_TLS:-false}",
      arity = "0..1", description = "call the limiter over TLS, verifying its certificate "
          + "and host name (GW_LIMITER_TLS; default ${DEFAULT-VALUE}: plaintext)")
  boolean limiterTls;

  @Option(names = "--limiter-tls-ca", defaultValue = "${env:GW_LIMITER_TLS_CA}",
      description = "PEM CA certificates the limiter's certificate must chain to "
          + "(GW_LIMITER_TLS_CA; default: the JVM's trusted CAs)")
  Path limiterTlsCa;

  @Option(names = "--limiter-tls-cert", defaultValue = "${env:GW_LIMITER_TLS_CERT}",
      description = "PEM client certificate chain for a limiter that requires mTLS "
          + "(GW_LIMITER_TLS_CERT)")
  Path limiterTlsCert;

  @Option(names = "--limiter-tls-key", defaultValue = "${env:GW_LIMITER_TLS_KEY}",
      description = "PEM (PKCS#8) private key of --limiter-tls-cert (GW_LIMITER_TLS_KEY)")
  Path limiterTlsKey;

  @Option(names = "--event-loops", defaultValue = "${env:GW_EVENT_LOOPS:-0}",
      description = "event loops (threads) serving the proxy port, the upstream and limiter "
          + "connections; 0: one per core (GW_EVENT_LOOPS; default ${DEFAULT-VALUE})")
  int eventLoops;

  @Option(names = "--log-format", defaultValue = "${env:GW_LOG_FORMAT:-text}",
      description = "lifecycle logs on standard error: text or json (one object per line) "
          + "(GW_LOG_FORMAT; default ${DEFAULT-VALUE})")
  String logFormat;

  public static void main(String[] args) {
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format",
          "%1$tFT%1$tT.%1$tLZ %4$s %3$s: %5$s%6$s%n");
    }
    System.exit(new CommandLine(new GatewayMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    String token = adminToken;
    if ((token == null || token.isEmpty()) && adminTokenFile != null) {
      token = Files.readString(adminTokenFile, StandardCharsets.UTF_8).trim();
    }
    if (token != null && !token.isEmpty() && token.length() < 16) {
      System.err.println("error: the admin token must be at least 16 characters");
      return 2;
    }
    if (reloadIntervalMillis < 10 || drainSeconds < 0 || port < 0 || adminPort < 0
        || eventLoops < 0) {
      System.err.println("error: --reload-interval-ms must be at least 10, ports, "
          + "--drain-seconds and --event-loops not negative");
      return 2;
    }
    if (!logFormat.equals("text") && !logFormat.equals("json")) {
      System.err.println("error: --log-format must be text or json, got '" + logFormat + "'");
      return 2;
    }
    if ((tlsCert == null) != (tlsKey == null) || (tlsClientCa != null && tlsCert == null)) {
      System.err.println("error: --tls-cert and --tls-key go together, and --tls-client-ca "
          + "needs them");
      return 2;
    }
    if ((limiterTlsCert == null) != (limiterTlsKey == null)) {
      System.err.println("error: --limiter-tls-cert and --limiter-tls-key go together");
      return 2;
    }
    if (!limiterTls && (limiterTlsCa != null || limiterTlsCert != null)) {
      // Never send key values in clear to a limiter the operator meant to reach over TLS.
      System.err.println("error: --limiter-tls-ca and --limiter-tls-cert need --limiter-tls");
      return 2;
    }
    boolean json = logFormat.equals("json");
    if (json) {
      JsonLogFormatter formatter = new JsonLogFormatter();
      for (java.util.logging.Handler h : java.util.logging.Logger.getLogger("").getHandlers()) {
        h.setFormatter(formatter);
      }
    }
    GatewaySettings settings = new GatewaySettings(config, bind, port, adminPort, limiter, token,
        accessLog, reloadIntervalMillis, drainSeconds,
        tlsCert == null ? null : new GatewaySettings.ServerTls(tlsCert, tlsKey, tlsClientCa),
        new GatewaySettings.LimiterTls(limiterTls, limiterTlsCa, limiterTlsCert, limiterTlsKey),
        json, eventLoops);
    GatewayServer server;
    try {
      server = GatewayServer.start(settings);
    } catch (ConfigException e) {
      System.err.println("error: bad config: " + e.getMessage());
      return 1;
    } catch (Exception e) {
      System.err.println("error: cannot start: " + e);
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close();
      } catch (Exception e) {
        System.err.println("error while stopping: " + e);
      } finally {
        stopped.countDown();
      }
    }, "shutdown"));
    stopped.await();
    return 0;
  }
}
