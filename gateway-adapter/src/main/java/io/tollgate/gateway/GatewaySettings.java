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
 */
public record GatewaySettings(Path config, String bind, int port, int adminPort, String limiter,
    String adminToken, String accessLog, long reloadIntervalMillis, int drainSeconds) {

  public static final String DEFAULT_BIND = "127.0.0.1";
  public static final int DEFAULT_PORT = 8000;
  public static final int DEFAULT_ADMIN_PORT = 8001;
  public static final String DEFAULT_LIMITER = "127.0.0.1:8081";
}
