package io.tollgate.gateway;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One loaded adapter config, immutable: a reload builds a new one and swaps it in whole.
 *
 * @param api the API name sent to the limiter with every check
 * @param apiKey where the API key is read from
 * @param server body and header limits
 * @param limiter how the limiter is asked and what happens when it cannot answer
 * @param invalidation who may refresh a cache entry with {@code Cache-Control: max-age=0}
 * @param stages stages in config order; each is a path prefix
 * @param routes routes in config order
 */
public record GatewayConfig(String api, ApiKeySource apiKey, ServerLimits server,
    LimiterPolicy limiter, Invalidation invalidation, List<Stage> stages, List<Route> routes) {

  /** The default cache TTL, as AWS API Gateway's. */
  public static final int DEFAULT_TTL_SECONDS = 300;
  /** The largest cache TTL, as AWS API Gateway's. */
  public static final int MAX_TTL_SECONDS = 3600;
  /** Responses larger than this are never cached (AWS API Gateway's limit). */
  public static final int MAX_CACHED_BODY_BYTES = 1 << 20;

  /** The key is read from a header (default {@code x-api-key}) or from a query parameter. */
  public record ApiKeySource(String header, String queryParameter) {}

  /**
   * @param maxBodyBytes request bodies above this answer 413
   * @param maxHeaderBytes HTTP/1 request header block above this answers 431
   */
  public record ServerLimits(long maxBodyBytes, int maxHeaderBytes) {}

  /** What to do when the limiter cannot answer. */
  public enum FailureMode { FAIL_OPEN, FAIL_CLOSED }

  /**
   * @param failureMode fail_open lets requests through, fail_closed answers 503
   * @param deadlineMillis how long one check may take
   * @param breakerFailures consecutive failed checks that open the circuit breaker
   * @param breakerOpenMillis how long the breaker stays open before one probe is let through
   */
  public record LimiterPolicy(FailureMode failureMode, long deadlineMillis, int breakerFailures,
      long breakerOpenMillis) {}

  /**
   * @param requireAuthorization when false anyone may refresh an entry
   * @param header a header name whose value must equal {@code headerValue}; null when unused
   * @param headerValue the value that header must carry
   * @param keyIds limiter key ids (as the check reports them) allowed to refresh
   */
  public record Invalidation(boolean requireAuthorization, String header, String headerValue,
      Set<String> keyIds) {}

  /**
   * A stage: requests under {@code prefix} belong to it.
   *
   * @param cacheEnabled whether GET responses are cached in this stage by default
   * @param ttlSeconds default TTL of this stage's entries; 0 disables caching
   * @param capacityBytes the stage cache's size; entries are evicted by size
   */
  public record Stage(String name, String prefix, boolean cacheEnabled, int ttlSeconds,
      long capacityBytes) {}

  /** How an unauthorized {@code Cache-Control: max-age=0} is handled (AWS's names). */
  public enum UnauthorizedCacheControl {
    FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER, SUCCEED_WITHOUT_RESPONSE_HEADER
  }

  /**
   * A cache key parameter: a path parameter, query parameter or request header.
   *
   * @param source {@code path}, {@code query} or {@code header}
   * @param name the parameter's name (lower case for headers)
   */
  public record CacheKeyParameter(String source, String name) {}

  /**
   * A route's cache override; null fields inherit the stage's settings.
   *
   * @param enabled null: cached when the stage caches and the method is GET
   */
  public record RouteCache(Boolean enabled, Integer ttlSeconds, List<CacheKeyParameter> keyParameters,
      UnauthorizedCacheControl unauthorizedCacheControl) {}

  /**
   * A route: a method (or {@code ANY}) and a path template such as {@code /pets/{id}}.
   *
   * @param name {@code "GET /pets/{id}"}, as written in the config
   * @param template the parsed template
   * @param upstreams base URIs, used round robin
   * @param timeoutMillis how long the upstream may take to answer completely
   * @param retries further attempts, on the next upstream, when a connection cannot be made
   * @param apiKeyRequired whether a request without a valid key is refused
   * @param failureMode what to do when the limiter cannot answer; null: the top-level
   *     {@code limiter.failure_mode}
   */
  public record Route(String name, String method, PathTemplate template, List<Upstream> upstreams,
      long timeoutMillis, int retries, boolean apiKeyRequired, RouteCache cache,
      FailureMode failureMode) {}

  /** An upstream's scheme ({@code http}: HTTP/1.1, {@code h2c}: HTTP/2 in clear), host and port. */
  public record Upstream(String scheme, String host, int port) {
    @Override
    public String toString() {
      return scheme + "://" + host + ":" + port;
    }
  }

  /** A stage by name, or null. */
  public Stage stage(String name) {
    for (Stage s : stages) {
      if (s.name().equals(name)) {
        return s;
      }
    }
    return null;
  }

  /** Stage names to their capacities, to tell whether a reload changed a cache's size. */
  public Map<String, Long> capacities() {
    Map<String, Long> m = new java.util.LinkedHashMap<>();
    for (Stage s : stages) {
      m.put(s.name(), s.capacityBytes());
    }
    return m;
  }
}
