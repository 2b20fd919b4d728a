package io.tollgate.limiter;

import io.tollgate.limiter.http.HttpPort;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Every setting of the limiter and its default, in one place. Each flag can also be given as the
 * environment variable named in its description; a flag wins over the variable.
 */
@Command(name = "limiter-service", mixinStandardHelpOptions = true,
    description = "Tollgate: a clustered rate-limit service speaking Envoy's rate-limit API.",
    sortOptions = false, usageHelpWidth = 100)
public final class Settings {

  @Option(names = "--config", paramLabel = "PATH", defaultValue = "${env:RL_CONFIG}",
      required = true,
      description = "Rule file, or directory of *.yaml/*.yml files, one domain each (RL_CONFIG).")
  Path config;

  @Option(names = "--grpc-port", defaultValue = "${env:RL_GRPC_PORT:-8081}",
      description = "gRPC port: Envoy's RateLimitService and health (RL_GRPC_PORT, default "
          + "${DEFAULT-VALUE}).")
  int grpcPort;

  @Option(names = "--http-port", defaultValue = "${env:RL_HTTP_PORT:-8080}",
      description = "HTTP port: /healthz, /healthcheck, /metrics, /json (RL_HTTP_PORT, default "
          + "${DEFAULT-VALUE}).")
  int httpPort;

  @Option(names = "--cluster-port", defaultValue = "${env:RL_CLUSTER_PORT:-5701}",
      description = "Hazelcast member port (RL_CLUSTER_PORT, default ${DEFAULT-VALUE}).")
  int clusterPort;

  @Option(names = "--members", paramLabel = "HOST:PORT,...",
      defaultValue = "${env:RL_MEMBERS:-}",
      description = "Other members to join; empty runs a standalone member (RL_MEMBERS).")
  String members;

  @Option(names = "--discovery", paramLabel = "members|kubernetes",
      defaultValue = "${env:RL_DISCOVERY:-members}",
      description = "How members find each other: the --members list, or Hazelcast's Kubernetes "
          + "discovery through --kubernetes-service-dns (RL_DISCOVERY, default ${DEFAULT-VALUE}).")
  String discovery;

  @Option(names = "--kubernetes-service-dns", paramLabel = "NAME",
      defaultValue = "${env:RL_KUBERNETES_SERVICE_DNS:-}",
      description = "With --discovery kubernetes: DNS name of the headless Service whose addresses "
          + "are the members, e.g. tollgate-cluster.tollgate.svc.cluster.local "
          + "(RL_KUBERNETES_SERVICE_DNS).")
  String kubernetesServiceDns;

  @Option(names = "--cluster-name", defaultValue = "${env:RL_CLUSTER_NAME:-ratelimit}",
      description = "Members join only others of the same name (RL_CLUSTER_NAME, default "
          + "${DEFAULT-VALUE}).")
  String clusterName;

  @Option(names = "--cluster-secret-file", paramLabel = "FILE",
      defaultValue = "${env:RL_CLUSTER_SECRET_FILE:-}",
      description = "File holding a secret of at least 16 characters that every member shares; "
          + "members without it cannot join (RL_CLUSTER_SECRET_FILE; see docs/clustering.md).")
  String clusterSecretFile;

  @Option(names = "--bind", paramLabel = "ADDRESS", defaultValue = "${env:RL_BIND:-127.0.0.1}",
      description = "Address every port listens on; 0.0.0.0 for all interfaces (RL_BIND, "
          + "default ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--response-headers", paramLabel = "true|false",
      defaultValue = "${env:RL_RESPONSE_HEADERS:-false}", arity = "0..1", fallbackValue = "true",
      description = "Add RateLimit-Limit/-Remaining/-Reset to responses (RL_RESPONSE_HEADERS, "
          + "default ${DEFAULT-VALUE}).")
  boolean responseHeaders;

  @Option(names = "--near-limit-ratio", defaultValue = "${env:RL_NEAR_LIMIT_RATIO:-0.8}",
      description = "Share of a limit above which hits count as near_limit (RL_NEAR_LIMIT_RATIO, "
          + "default ${DEFAULT-VALUE}).")
  double nearLimitRatio;

  @Option(names = "--over-limit-cache-size", paramLabel = "KEYS",
      defaultValue = "${env:RL_OVER_LIMIT_CACHE_SIZE:-100000}",
      description = "Keys known to be over their limit that this member remembers and denies "
          + "without a grid call until a unit could be free again; 0 turns the cache off "
          + "(RL_OVER_LIMIT_CACHE_SIZE, default ${DEFAULT-VALUE}).")
  long overLimitCacheSize;

  @Option(names = "--max-distinct-values-per-rule", paramLabel = "COUNTERS",
      defaultValue = "${env:RL_MAX_DISTINCT_VALUES_PER_RULE:-100000}",
      description = "Distinct counters one rule may have in use on this member (a rule keyed by "
          + "a free value, such as remote_address, has one per value); past it, new values "
          + "share the rule's one overflow counter; 0 means no cap "
          + "(RL_MAX_DISTINCT_VALUES_PER_RULE, default ${DEFAULT-VALUE}).")
  long maxDistinctValuesPerRule;

  @Option(names = "--shadow-mode", paramLabel = "true|false",
      defaultValue = "${env:RL_SHADOW_MODE:-false}", arity = "0..1", fallbackValue = "true",
      description = "Count as usual but always answer OK (RL_SHADOW_MODE, default "
          + "${DEFAULT-VALUE}).")
  boolean shadowMode;

  @Option(names = "--reload-interval-ms", defaultValue = "${env:RL_RELOAD_INTERVAL_MS:-1000}",
      description = "How often config files are checked for edits (RL_RELOAD_INTERVAL_MS, "
          + "default ${DEFAULT-VALUE}).")
  long reloadIntervalMillis;

  @Option(names = "--drain-seconds", defaultValue = "${env:RL_DRAIN_SECONDS:-10}",
      description = "On SIGTERM, how long in-flight calls may take to finish (RL_DRAIN_SECONDS, "
          + "default ${DEFAULT-VALUE}).")
  int drainSeconds;

  @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${env:RL_DATA_DIR:-data}",
      description = "Directory of the embedded database used when --db-url is not given "
          + "(RL_DATA_DIR, default ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--db-url", paramLabel = "JDBC_URL", defaultValue = "${env:RL_DB_URL:-}",
      description = "PostgreSQL database for plans, keys and usage, e.g. "
          + "jdbc:postgresql://db:5432/tollgate; empty uses the embedded database (RL_DB_URL).")
  String dbUrl;

  @Option(names = "--db-user", defaultValue = "${env:RL_DB_USER:-}",
      description = "Database user (RL_DB_USER).")
  String dbUser;

  @Option(names = "--db-password", defaultValue = "${env:RL_DB_PASSWORD:-}",
      description = "Database password (RL_DB_PASSWORD; prefer the variable: flags show in ps).")
  String dbPassword;

  @Option(names = "--db-auto-server", paramLabel = "true|false",
      defaultValue = "${env:RL_DB_AUTO_SERVER:-false}", arity = "0..1", fallbackValue = "true",
      description = "Share the embedded database in --data-dir with other members on this "
          + "machine: the first to open it serves it to the others on 127.0.0.1. Every member "
          + "using the directory needs it (RL_DB_AUTO_SERVER, default ${DEFAULT-VALUE}).")
  boolean dbAutoServer;

  @Option(names = "--admin-token", paramLabel = "TOKEN", defaultValue = "${env:RL_ADMIN_TOKEN:-}",
      description = "Bearer token of the admin API; without one the admin API is closed "
          + "(RL_ADMIN_TOKEN; prefer the variable or --admin-token-file: flags show in ps).")
  String adminToken;

  @Option(names = "--admin-token-file", paramLabel = "FILE",
      defaultValue = "${env:RL_ADMIN_TOKEN_FILE:-}",
      description = "File holding the admin token (RL_ADMIN_TOKEN_FILE).")
  String adminTokenFile;

  @Option(names = "--rlqs-unmatched", paramLabel = "allow_all|deny_all",
      defaultValue = "${env:RL_RLQS_UNMATCHED:-allow_all}",
      description = "RLQS: what a bucket matching no limit gets, unless its domain's rlqs.unmatched "
          + "says (RL_RLQS_UNMATCHED, default ${DEFAULT-VALUE}).")
  String rlqsUnmatched;

  @Option(names = "--rlqs-min-ttl-ms", defaultValue = "${env:RL_RLQS_MIN_TTL_MS:-1000}",
      description = "RLQS: least time to live of an assignment; otherwise 3x the proxy's reporting "
          + "interval (RL_RLQS_MIN_TTL_MS, default ${DEFAULT-VALUE}).")
  long rlqsMinTtlMillis;

  @Option(names = "--http-request-timeout-ms",
      defaultValue = "${env:RL_HTTP_REQUEST_TIMEOUT_MS:-10000}",
      description = "HTTP: most time from a request's first byte to its last; a slower request "
          + "gets 408 and its connection closes (RL_HTTP_REQUEST_TIMEOUT_MS, default "
          + "${DEFAULT-VALUE}).")
  long httpRequestTimeoutMillis;

  @Option(names = "--http-idle-timeout-ms", defaultValue = "${env:RL_HTTP_IDLE_TIMEOUT_MS:-60000}",
      description = "HTTP: a connection with no request in progress is closed after this long "
          + "(RL_HTTP_IDLE_TIMEOUT_MS, default ${DEFAULT-VALUE}).")
  long httpIdleTimeoutMillis;

  @Option(names = "--http-max-connections",
      defaultValue = "${env:RL_HTTP_MAX_CONNECTIONS:-10000}",
      description = "HTTP: connections open at once at most; more are closed on accept "
          + "(RL_HTTP_MAX_CONNECTIONS, default ${DEFAULT-VALUE}).")
  int httpMaxConnections;

  @Option(names = "--grpc-max-connections",
      defaultValue = "${env:RL_GRPC_MAX_CONNECTIONS:-10000}",
      description = "gRPC: connections open at once at most; more are closed on accept "
          + "(RL_GRPC_MAX_CONNECTIONS, default ${DEFAULT-VALUE}).")
  int grpcMaxConnections;

  @Option(names = "--grpc-threads", defaultValue = "${env:RL_GRPC_THREADS:-0}",
      description = "gRPC: threads that run calls other than decisions (admin, RLQS, health); 0 "
          + "for max(2, cores) (RL_GRPC_THREADS, default "
          + "${DEFAULT-VALUE}).")
  int grpcThreads;

  @Option(names = "--grpc-max-queued", defaultValue = "${env:RL_GRPC_MAX_QUEUED:-1000}",
      description = "gRPC: calls that may wait for a thread; past this, new calls get "
          + "RESOURCE_EXHAUSTED (RL_GRPC_MAX_QUEUED, default ${DEFAULT-VALUE}).")
  int grpcMaxQueued;

  @Option(names = "--grpc-max-calls-per-connection",
      defaultValue = "${env:RL_GRPC_MAX_CALLS_PER_CONNECTION:-1000}",
      description = "gRPC: calls (HTTP/2 streams) one connection may have open at once "
          + "(RL_GRPC_MAX_CALLS_PER_CONNECTION, default ${DEFAULT-VALUE}).")
  int grpcMaxCallsPerConnection;

  @Option(names = "--grpc-keepalive-seconds", defaultValue = "${env:RL_GRPC_KEEPALIVE_SECONDS:-60}",
      description = "gRPC: ping a connection quiet for this long; no answer within 20 s closes "
          + "it (RL_GRPC_KEEPALIVE_SECONDS, default ${DEFAULT-VALUE}).")
  long grpcKeepaliveSeconds;

  @Option(names = "--grpc-max-connection-age-seconds",
      defaultValue = "${env:RL_GRPC_MAX_CONNECTION_AGE_SECONDS:-1800}",
      description = "gRPC: a connection is asked to go away after this long; its calls get 30 s "
          + "more (RL_GRPC_MAX_CONNECTION_AGE_SECONDS, default ${DEFAULT-VALUE}).")
  long grpcMaxConnectionAgeSeconds;

  @Option(names = "--grpc-max-connection-idle-seconds",
      defaultValue = "${env:RL_GRPC_MAX_CONNECTION_IDLE_SECONDS:-3600}",
      description = "gRPC: a connection without calls for this long is closed "
          + "(RL_GRPC_MAX_CONNECTION_IDLE_SECONDS, default ${DEFAULT-VALUE}).")
  long grpcMaxConnectionIdleSeconds;

  @Option(names = "--log-format", paramLabel = "text|json",
      defaultValue = "${env:RL_LOG_FORMAT:-text}",
      description = "Log lines as text, or as one JSON object each (RL_LOG_FORMAT, default "
          + "${DEFAULT-VALUE}).")
  String logFormat;

  /** Whether logs are JSON lines. */
  public boolean jsonLogs() {
    return "json".equals(logFormat);
  }

  @Option(names = "--tls-cert", paramLabel = "PEM", defaultValue = "${env:RL_TLS_CERT:-}",
      description = "Certificate chain (PEM) for TLS on the gRPC and HTTP ports; with --tls-key "
          + "turns TLS on; empty serves plain text (RL_TLS_CERT).")
  String tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", defaultValue = "${env:RL_TLS_KEY:-}",
      description = "Private key (PEM, PKCS#8) of --tls-cert (RL_TLS_KEY).")
  String tlsKey;

  @Option(names = "--tls-client-ca", paramLabel = "PEM",
      defaultValue = "${env:RL_TLS_CLIENT_CA:-}",
      description = "CA certificates (PEM): with it, both ports require a client certificate "
          + "that chains to one of them (mutual TLS) (RL_TLS_CLIENT_CA).")
  String tlsClientCa;

  @Option(names = "--tls-reload-seconds", defaultValue = "${env:RL_TLS_RELOAD_SECONDS:-60}",
      description = "How often the TLS files are checked for a rotation; new connections get the "
          + "new certificate (RL_TLS_RELOAD_SECONDS, default ${DEFAULT-VALUE}).")
  long tlsReloadSeconds;

  /** Whether the ports serve TLS. */
  public boolean tls() {
    return tlsCert != null && !tlsCert.isEmpty();
  }

  /** Threads of the gRPC call pool. */
  public int grpcThreads() {
    return grpcThreads > 0 ? grpcThreads : Math.max(2, Runtime.getRuntime().availableProcessors());
  }

  /** The HTTP port's bounds. */
  public HttpPort.Limits httpLimits() {
    return new HttpPort.Limits(httpRequestTimeoutMillis, httpIdleTimeoutMillis,
        httpMaxConnections);
  }

  /** Whether unmatched RLQS buckets are denied by default. */
  public boolean rlqsUnmatchedDenyAll() {
    return "deny_all".equals(rlqsUnmatched);
  }

  /** The admin token from --admin-token or --admin-token-file, or empty. */
  public String adminToken() throws java.io.IOException {
    if (adminTokenFile != null && !adminTokenFile.isEmpty()) {
      return java.nio.file.Files.readString(Path.of(adminTokenFile)).strip();
    }
    return adminToken == null ? "" : adminToken.strip();
  }

  /** The shared cluster secret from --cluster-secret-file, or empty. */
  public String clusterSecret() throws java.io.IOException {
    if (clusterSecretFile == null || clusterSecretFile.isEmpty()) {
      return "";
    }
    return java.nio.file.Files.readString(Path.of(clusterSecretFile)).strip();
  }

  /** The member list, parsed. */
  public List<String> memberList() {
    List<String> out = new ArrayList<>();
    for (String m : members.split(",")) {
      if (!m.isBlank()) {
        out.add(m.trim());
      }
    }
    return out;
  }

  /**
   * Checks values that the parser cannot.
   *
   * @return the first problem, or {@code null}
   */
  String problem() {
    for (int[] p : new int[][] {{grpcPort, 0}, {httpPort, 1}, {clusterPort, 2}}) {
      if (p[0] < 0 || p[0] > 65535) {
        return new String[] {"--grpc-port", "--http-port", "--cluster-port"}[p[1]]
            + ": " + p[0] + " is not a port number";
      }
    }
    for (String m : memberList()) {
      int colon = m.lastIndexOf(':');
      try {
        int port = Integer.parseInt(m.substring(colon + 1));
        if (colon <= 0 || port <= 0 || port > 65535) {
          throw new NumberFormatException();
        }
      } catch (NumberFormatException | IndexOutOfBoundsException e) {
        return "--members: '" + m + "' is not host:port";
      }
    }
    if (!"members".equals(discovery) && !"kubernetes".equals(discovery)) {
      return "--discovery: '" + discovery + "' is not members or kubernetes";
    }
    if ("kubernetes".equals(discovery) && (kubernetesServiceDns == null
        || kubernetesServiceDns.isBlank())) {
      return "--discovery kubernetes needs --kubernetes-service-dns";
    }
    if ("kubernetes".equals(discovery) && !memberList().isEmpty()) {
      return "--members and --discovery kubernetes: give one, not both";
    }
    if (!(nearLimitRatio > 0 && nearLimitRatio <= 1)) {
      return "--near-limit-ratio: " + nearLimitRatio + " is not in (0, 1]";
    }
    if (reloadIntervalMillis < 100) {
      return "--reload-interval-ms: " + reloadIntervalMillis + " is below 100";
    }
    if (adminToken != null && !adminToken.isEmpty() && adminTokenFile != null
        && !adminTokenFile.isEmpty()) {
      return "--admin-token and --admin-token-file: give one, not both";
    }
    if (adminToken != null && !adminToken.isBlank() && adminToken.strip().length() < 16) {
      return "--admin-token: at least 16 characters";
    }
    if (adminTokenFile != null && !adminTokenFile.isEmpty()) {
      try {
        if (adminToken().length() < 16) {
          return "--admin-token-file: " + adminTokenFile + " must hold at least 16 characters";
        }
      } catch (java.io.IOException | RuntimeException e) {
        return "--admin-token-file: cannot read " + adminTokenFile + ": " + e;
      }
    }
    if (clusterSecretFile != null && !clusterSecretFile.isEmpty()) {
      try {
        if (clusterSecret().length() < 16) {
          return "--cluster-secret-file: " + clusterSecretFile
              + " must hold at least 16 characters";
        }
      } catch (java.io.IOException | RuntimeException e) {
        return "--cluster-secret-file: cannot read " + clusterSecretFile + ": " + e;
      }
    }
    if (tls() != (tlsKey != null && !tlsKey.isEmpty())) {
      return "--tls-cert and --tls-key: give both or neither";
    }
    if (!tls() && tlsClientCa != null && !tlsClientCa.isEmpty()) {
      return "--tls-client-ca needs --tls-cert and --tls-key";
    }
    if (tlsReloadSeconds < 1) {
      return "--tls-reload-seconds: " + tlsReloadSeconds + " is below 1";
    }
    if (!"text".equals(logFormat) && !"json".equals(logFormat)) {
      return "--log-format: '" + logFormat + "' is not text or json";
    }
    if (dbUrl != null && !dbUrl.isEmpty() && !dbUrl.startsWith("jdbc:postgresql:")
        && !dbUrl.startsWith("jdbc:h2:")) {
      return "--db-url: '" + dbUrl + "' is not a jdbc:postgresql: (or jdbc:h2:) URL";
    }
    if (!"allow_all".equals(rlqsUnmatched) && !"deny_all".equals(rlqsUnmatched)) {
      return "--rlqs-unmatched: '" + rlqsUnmatched + "' is not allow_all or deny_all";
    }
    if (rlqsMinTtlMillis < 1 || rlqsMinTtlMillis > 86_400_000) {
      return "--rlqs-min-ttl-ms: " + rlqsMinTtlMillis + " is not from 1 to 86400000";
    }
    if (maxDistinctValuesPerRule < 0 || maxDistinctValuesPerRule > 100_000_000) {
      return "--max-distinct-values-per-rule: " + maxDistinctValuesPerRule
          + " is not from 0 to 100000000";
    }
    if (overLimitCacheSize < 0 || overLimitCacheSize > 100_000_000) {
      return "--over-limit-cache-size: " + overLimitCacheSize + " is not from 0 to 100000000";
    }
    if (httpRequestTimeoutMillis < 100 || httpRequestTimeoutMillis > 600_000) {
      return "--http-request-timeout-ms: " + httpRequestTimeoutMillis
          + " is not from 100 to 600000";
    }
    if (httpIdleTimeoutMillis < 100 || httpIdleTimeoutMillis > 3_600_000) {
      return "--http-idle-timeout-ms: " + httpIdleTimeoutMillis + " is not from 100 to 3600000";
    }
    if (httpMaxConnections < 1) {
      return "--http-max-connections: " + httpMaxConnections + " is below 1";
    }
    if (grpcMaxConnections < 1) {
      return "--grpc-max-connections: " + grpcMaxConnections + " is below 1";
    }
    if (grpcThreads < 0 || grpcThreads > 1024) {
      return "--grpc-threads: " + grpcThreads + " is not from 0 to 1024";
    }
    if (grpcMaxQueued < 1) {
      return "--grpc-max-queued: " + grpcMaxQueued + " is below 1";
    }
    if (grpcMaxCallsPerConnection < 1) {
      return "--grpc-max-calls-per-connection: " + grpcMaxCallsPerConnection + " is below 1";
    }
    for (long[] v : new long[][] {{grpcKeepaliveSeconds, 0}, {grpcMaxConnectionAgeSeconds, 1},
        {grpcMaxConnectionIdleSeconds, 2}}) {
      if (v[0] < 1) {
        return new String[] {"--grpc-keepalive-seconds", "--grpc-max-connection-age-seconds",
            "--grpc-max-connection-idle-seconds"}[(int) v[1]] + ": " + v[0] + " is below 1";
      }
    }
    if (drainSeconds < 0) {
      return "--drain-seconds: " + drainSeconds + " is negative";
    }
    return null;
  }
}
