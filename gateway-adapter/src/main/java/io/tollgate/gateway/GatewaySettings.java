package io.tollgate.gateway;

import java.nio.file.Path;

/**
 * Every start-up setting of the adapter and its default, in one place (flags in {@link
 * GatewayMain}).
 *
 * @param config the YAML config file
 * @param bind the address both ports listen on
 * @param port the proxy port (HTTP/1.1 and h2c)
 * @param adminPort metrics, health and cache flush
 * @param limiter the limiter's gRPC address, {@code host:port}
 * @param adminToken bearer token of the cache flush endpoint; empty closes it
 * @param accessLog {@code -} for standard output, {@code off}, or a file to append to
 * @param reloadIntervalMillis how often the config file is checked for changes
 * @param drainSeconds on SIGTERM, how long requests in flight may take
 * @param tls the adapter's own TLS (both ports); null: plaintext
 * @param limiterTls TLS to the limiter
 * @param jsonLogs lifecycle logs as JSON lines instead of text
 * @param eventLoops the proxy's event loops (threads); 0: one per core
 */
public record GatewaySettings(Path config, String bind, int port, int adminPort, String limiter,
    String adminToken, String accessLog, long reloadIntervalMillis, int drainSeconds,
    ServerTls tls, LimiterTls limiterTls, boolean jsonLogs, int eventLoops) {

  /**
   * The adapter's own TLS, PEM files read again when they change.
   *
   * @param cert the certificate chain
   * @param key its private key (PKCS#8)
   * @param clientCa null, or the CA certificates client certificates must chain to (mTLS)
   */
  public record ServerTls(Path cert, Path key, Path clientCa) {}

  /**
   * TLS on the channel to the limiter; off by default.
   *
   * @param enabled TLS at all
   * @param ca null (the JVM's trusted CAs), or the CA certificates the limiter's must chain to
   * @param cert null, or this adapter's client certificate chain (the limiter requires mTLS)
   * @param key the client certificate's private key
   */
  public record LimiterTls(boolean enabled, Path ca, Path cert, Path key) {
    public static final LimiterTls OFF = new LimiterTls(false, null, null, null);
  }

  public static final String DEFAULT_BIND = "127.0.0.1";
  public static final int DEFAULT_PORT = 8000;
  public static final int DEFAULT_ADMIN_PORT = 8001;
  public static final String DEFAULT_LIMITER = "127.0.0.1:8081";
}
