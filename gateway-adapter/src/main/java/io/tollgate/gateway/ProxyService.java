package io.tollgate.gateway;

import com.linecorp.armeria.common.ContentTooLargeException;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.QueryParams;
import com.linecorp.armeria.common.RequestContext;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import com.linecorp.armeria.common.util.Exceptions;
import com.linecorp.armeria.common.util.SafeCloseable;
import com.linecorp.armeria.common.util.TimeoutMode;
import com.linecorp.armeria.common.logging.RequestLog;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.netty.util.AsciiString;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.gateway.Decision.Verdict;
import io.tollgate.gateway.GatewayConfig.CacheKeyParameter;
import io.tollgate.gateway.GatewayConfig.FailureMode;
import io.tollgate.gateway.GatewayConfig.Invalidation;
import io.tollgate.gateway.GatewayConfig.Route;
import io.tollgate.gateway.GatewayConfig.Stage;
import io.tollgate.gateway.GatewayConfig.UnauthorizedCacheControl;
import io.tollgate.gateway.Router.Match;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The order of work for one request, each step answering on its own when it must:
 *
 * <ol>
 *   <li>Route: stage by path prefix, then method and path template. None: 404.</li>
 *   <li>API key: a key-requiring route without a key: 403, without asking the limiter.</li>
 *   <li>Limiter check, for every request, cached or not ({@link DecisionClient}): FORBIDDEN 403
 *       (an unknown or disabled key; the limiter consumed nothing), THROTTLED 429 "Too Many
 *       Requests", QUOTA_EXCEEDED 429 "Limit Exceeded", no answer: the failure mode.</li>
 *   <li>Cache: a hit is answered from the stage cache.</li>
 *   <li>Upstream: round robin, retries on connection failure only; 502 unreachable, 504
 *       timeout. Its answer, whatever the status, was counted in step 3.</li>
 * </ol>
 *
 * <p>Every answer carries {@code X-Request-ID}; every checked one the rate-limit headers
 * ({@link RateLimitHeaders}). Metrics and the access-log line are written when the exchange ends.
 */
public final class ProxyService implements HttpService {

  /** Request headers never forwarded: hop-by-hop (RFC 9110 7.6.1) and ones this proxy sets. */
  static final Set<AsciiString> HOP_BY_HOP = Set.of(
      HttpHeaderNames.CONNECTION, AsciiString.of("keep-alive"), HttpHeaderNames.PROXY_AUTHENTICATE,
      HttpHeaderNames.PROXY_AUTHORIZATION, AsciiString.of("proxy-connection"), HttpHeaderNames.TE,
      HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
      HttpHeaderNames.HOST, AsciiString.of("http2-settings"));

  private static final AsciiString REQUEST_ID = AsciiString.of("x-request-id");
  /**
   * Set by the adapter alone: the key id the limiter counted the request against. A client's
   * own is dropped on every route, so an upstream can trust it.
   */
  private static final AsciiString API_KEY_ID = AsciiString.of("x-api-key-id");
  private static final AsciiString X_CACHE = AsciiString.of("x-cache");
  private static final AsciiString X_FORWARDED_FOR = AsciiString.of("x-forwarded-for");
  private static final AsciiString X_FORWARDED_PROTO = AsciiString.of("x-forwarded-proto");
  private static final AsciiString X_FORWARDED_HOST = AsciiString.of("x-forwarded-host");
  private static final String NONE = "none";
  /** The longest API key the limiter accepts; a longer one is refused here with 403. */
  static final int MAX_API_KEY_LENGTH = 256;
  /** How long a client has, from the start, to send its whole request (headers and body). */
  static final long REQUEST_BODY_TIMEOUT_MILLIS = 20_000;
  /** Added to a route's upstream timeout and the limiter deadline to bound a whole exchange. */
  static final long REQUEST_ALLOWANCE_MILLIS = 1_000;

  private final Supplier<GatewayConfig> config;
  private final Function<String, StageCache> caches;
  private final DecisionClient decisions;
  private final UpstreamClient upstreams;
  private final GatewayMetrics metrics;
  private final AccessLog accessLog;
  private final Ticker nanoClock;

  /** A nanosecond clock (System::nanoTime in production). */
  @FunctionalInterface
  public interface Ticker {
    long read();
  }

  public ProxyService(Supplier<GatewayConfig> config, Function<String, StageCache> caches,
      DecisionClient decisions, UpstreamClient upstreams, GatewayMetrics metrics,
      AccessLog accessLog, Ticker nanoClock) {
    this.config = config;
    this.caches = caches;
    this.decisions = decisions;
    this.upstreams = upstreams;
    this.metrics = metrics;
    this.accessLog = accessLog;
    this.nanoClock = nanoClock;
  }

  /** What one exchange did, for its metrics and access-log line. */
  private static final class Exchange {
    final long startNanos;
    /** The wall-clock start, read only when the access log is on. */
    final Instant startTime;
    String requestId;
    String stage = NONE;
    String route = NONE;
    String cache;
    String limiter;
    String keyId;
    /** The route whose upstreams were asked, null when none was; named in the access log. */
    Route upstreamRoute;
    AtomicInteger inFlight;

    Exchange(long startNanos, Instant startTime) {
      this.startNanos = startNanos;
      this.startTime = startTime;
    }
  }

  /** Each verdict's access-log label, computed once. */
  private static final String[] VERDICT_LABELS = verdictLabels();

  private static String[] verdictLabels() {
    Verdict[] vs = Verdict.values();
    String[] out = new String[vs.length];
    for (Verdict v : vs) {
      out[v.ordinal()] = v.name().toLowerCase(Locale.ROOT);
    }
    return out;
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) {
    Exchange x = new Exchange(nanoClock.read(), accessLog.enabled() ? Instant.now() : null);
    RequestHeaders h = req.headers();
    x.requestId = requestId(h.get(REQUEST_ID));
    ctx.log().whenComplete().thenAccept(log -> finish(ctx, x, log));
    GatewayConfig cfg = config.get();

    Match m = Router.match(cfg, h.method().name(), ctx.path());
    if (m == null) {
      return json(HttpStatus.NOT_FOUND, "Not Found", x, null, null);
    }
    x.stage = m.stage().name();
    x.route = m.route().name();
    x.inFlight = metrics.inFlight(x.route);
    x.inFlight.incrementAndGet();

    // As in AWS, a route that does not require a key ignores a presented one: it is not sent to
    // the limiter, so an unknown key there is no reason for 403.
    String key = m.route().apiKeyRequired() ? apiKey(cfg, h, ctx.query()) : "";
    if (m.route().apiKeyRequired() && key.isEmpty()) {
      x.limiter = "no_key";
      return json(HttpStatus.FORBIDDEN, "Forbidden", x, null, null);
    }
    if (key.length() > MAX_API_KEY_LENGTH) {
      // No such key can exist (the limiter refuses longer ones): refused here, limiter untouched.
      x.limiter = "key_too_long";
      return json(HttpStatus.FORBIDDEN, "Forbidden", x, null, null);
    }
    // Every exchange is bounded (README, "Timeouts"): the client has REQUEST_BODY_TIMEOUT_MILLIS
    // from the start to deliver its whole request (a stalled upload ends with 408 and the
    // connection is closed); once it has, the rest gets the route's timeout plus the limiter's
    // deadline and an allowance (past it: 504).
    long rest = m.route().timeoutMillis() + cfg.limiter().deadlineMillis()
        + REQUEST_ALLOWANCE_MILLIS;
    ctx.setRequestTimeoutMillis(TimeoutMode.SET_FROM_START, REQUEST_BODY_TIMEOUT_MILLIS);
    req.whenComplete().handle((ok, err) -> {
      ctx.setRequestTimeoutMillis(TimeoutMode.SET_FROM_NOW, rest);
      return null;
    });
    long maxBody = cfg.server().maxBodyBytes();
    if (maxBody > 0 && h.contentLength() > maxBody) {
      return json(HttpStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large", x, null, null);
    }
    if (maxBody > 0) {
      ctx.setMaxRequestLength(maxBody);
    }

    if (!decisions.ready()) {
      // Not one check has reached the limiter yet: whatever the failure mode, nothing goes
      // through unchecked because the adapter has only just started.
      x.limiter = "not_ready";
      return json(HttpStatus.SERVICE_UNAVAILABLE, "Service Unavailable", x, null, null);
    }
    if (maxBody > 0 && h.contentLength() < 0 && UpstreamClient.mayHaveBody(h.method())
        && !req.isEmpty()) {
      // A body of unknown length (chunked, or HTTP/2 without content-length) is read in full,
      // at most max_body_bytes, before the limiter is asked and before the upstream sees any of
      // it: a body over the limit answers 413, costs nothing and reaches nobody. A streamed
      // body would already be counted, and partly sent upstream, when it turned out too long.
      return HttpResponse.of(req.aggregate().handle((agg, err) -> {
        if (err != null) {
          if (Exceptions.peel(err) instanceof ContentTooLargeException) {
            return json(HttpStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large", x,
                null, null);
          }
          return HttpResponse.ofFailure(err);
        }
        RequestHeaders known = h.toBuilder().removeAndThen(HttpHeaderNames.TRANSFER_ENCODING)
            .contentLength(agg.content().length()).build();
        return checkThenProxy(ctx, HttpRequest.of(known, agg.content(), agg.trailers()), cfg, m,
            x, key);
      }));
    }
    return checkThenProxy(ctx, req, cfg, m, x, key);
  }

  /** Steps 3 to 5: the limiter check, then the cache or the upstream. */
  private HttpResponse checkThenProxy(ServiceRequestContext ctx, HttpRequest req,
      GatewayConfig cfg, Match m, Exchange x, String key) {
    RequestHeaders h = req.headers();
    CheckRequest check = CheckRequest.newBuilder()
        .setApiKey(key)
        .setKeyRequired(m.route().apiKeyRequired())
        .setApi(cfg.api())
        .setStage(m.stage().name())
        .setMethod(h.method().name())
        .setRoute(m.route().template().toString())
        .setCost(1)
        .build();
    boolean keySent = !key.isEmpty();
    CompletableFuture<HttpResponse> res = new CompletableFuture<>();
    FailureMode mode = m.route().failureMode() != null ? m.route().failureMode()
        : cfg.limiter().failureMode();
    decisions.check(check, cfg.limiter(), mode).thenAccept(d -> {
      // The rest runs on the request's event loop, in its context: at once when the answer
      // arrived there, else handed to it (a task and a wake-up).
      RequestContext current = RequestContext.currentOrNull();
      if (ctx.eventLoop().inEventLoop() && (current == null || current == ctx)) {
        try (SafeCloseable ignored = current == null ? ctx.push() : null) {
          continueAfterCheck(res, ctx, req, cfg, m, d, x, keySent);
        }
      } else {
        ctx.eventLoop().execute(() -> continueAfterCheck(res, ctx, req, cfg, m, d, x, keySent));
      }
    });
    return HttpResponse.of(res);
  }

  private void continueAfterCheck(CompletableFuture<HttpResponse> res, ServiceRequestContext ctx,
      HttpRequest req, GatewayConfig cfg, Match m, Decision d, Exchange x, boolean keySent) {
    try {
      res.complete(afterCheck(ctx, req, cfg, m, d, x, keySent));
    } catch (Throwable t) {
      res.completeExceptionally(t);
    }
  }

  private HttpResponse afterCheck(ServiceRequestContext ctx, HttpRequest req, GatewayConfig cfg,
      Match m, Decision d, Exchange x, boolean keySent) {
    CheckResponse check = d.response();
    x.limiter = d.failure() == null ? VERDICT_LABELS[d.verdict().ordinal()]
        : "failed_" + d.failure();
    if (check != null && !check.getKeyId().isEmpty()) {
      x.keyId = check.getKeyId();
    }
    switch (d.verdict()) {
      case FORBIDDEN:
        return json(HttpStatus.FORBIDDEN, "Forbidden", x, null, null);
      case THROTTLED:
        return json(HttpStatus.TOO_MANY_REQUESTS, "Too Many Requests", x, check, null);
      case QUOTA_EXCEEDED:
        return json(HttpStatus.TOO_MANY_REQUESTS, "Limit Exceeded", x, check, null);
      case REJECTED:
        // The limiter refused the request itself: a key it will not look up, or a bad field.
        return keySent ? json(HttpStatus.FORBIDDEN, "Forbidden", x, null, null)
            : json(HttpStatus.BAD_REQUEST, "Bad Request", x, null, null);
      case UNAVAILABLE:
        return json(HttpStatus.SERVICE_UNAVAILABLE, "Service Unavailable", x, null, null);
      default:
        break;
    }

    Stage stage = m.stage();
    Route route = m.route();
    RequestHeaders h = req.headers();
    int ttl = route.cache().ttlSeconds() != null ? route.cache().ttlSeconds() : stage.ttlSeconds();
    // HEAD is never cached (its answer has no body); the method leads the cache key, so an ANY
    // route keeps each method's answers apart.
    boolean cacheable = ttl > 0 && h.method() != HttpMethod.HEAD
        && (route.cache().enabled() != null ? route.cache().enabled()
        : stage.cacheEnabled() && h.method() == HttpMethod.GET);
    StageCache cache = cacheable ? caches.apply(stage.name()) : null;
    String cacheKey = null;
    String warning = null;
    boolean refresh = false;
    if (cache != null) {
      cacheKey = cacheKey(m, h, ctx.query());
      if (wantsRefresh(h)) {
        if (mayInvalidate(cfg.invalidation(), h, check)) {
          refresh = true;
        } else if (route.cache().unauthorizedCacheControl()
            == UnauthorizedCacheControl.FAIL_WITH_403) {
          x.cache = "refresh_refused";
          return json(HttpStatus.FORBIDDEN, "Forbidden", x, check, null);
        } else if (route.cache().unauthorizedCacheControl()
            == UnauthorizedCacheControl.SUCCEED_WITH_RESPONSE_HEADER) {
          warning = "199 tollgate \"Cache-Control max-age=0 ignored: not authorized to "
              + "invalidate the cache\"";
        }
      }
      if (!refresh) {
        StageCache.Entry hit = cache.get(cacheKey);
        metrics.cache(stage.name(), hit != null);
        if (hit != null) {
          x.cache = "hit";
          return fromCache(hit, x, check, warning);
        }
        x.cache = "miss";
      } else {
        metrics.cache(stage.name(), false);
        x.cache = "refresh";
      }
    }

    String query = withoutParameter(ctx.query(), cfg.apiKey().queryParameter());
    x.upstreamRoute = route;
    String w = warning;
    Consumer<ResponseHeadersBuilder> answerHeaders = b -> {
      b.set(REQUEST_ID, x.requestId);
      if (check != null) {
        RateLimitHeaders.add(b, check, false);
      }
      if (x.cache != null) {
        b.set(X_CACHE, "MISS");
      }
      if (w != null) {
        b.set(HttpHeaderNames.WARNING, w);
      }
    };
    HttpResponse res = upstreams.send(route, h.method(),
        query == null ? m.routePath() : m.routePath() + "?" + query, h.contentLength(),
        upstreamHeaders(ctx, cfg, h, x, check), req, answerHeaders);
    return cache != null ? collectInto(res, cache, cacheKey, ttl) : res;
  }

  /** The request's headers as sent upstream, but for Host (the upstream's, set per attempt). */
  private static io.netty.handler.codec.http.HttpHeaders upstreamHeaders(
      ServiceRequestContext ctx, GatewayConfig cfg, RequestHeaders h, Exchange x,
      CheckResponse check) {
    // Values come from the client's headers, checked when they were parsed, or from the
    // adapter; the key id from the limiter is checked below. Nothing here checks them again.
    io.netty.handler.codec.http.HttpHeaders b =
        new io.netty.handler.codec.http.DefaultHttpHeaders(false);
    List<String> nominated = new ArrayList<>();
    for (String c : h.getAll(HttpHeaderNames.CONNECTION)) {
      for (String n : c.split(",")) {
        nominated.add(n.trim().toLowerCase(Locale.ROOT));
      }
    }
    String keyHeader = cfg.apiKey().header();
    // The cache-invalidation secret is the adapter's, never the upstream's.
    String secretHeader = cfg.invalidation().header();
    String forwardedFor = null;
    for (Map.Entry<AsciiString, String> e : h) {
      AsciiString name = e.getKey();
      if (name.byteAt(0) == ':' || HOP_BY_HOP.contains(name)
          || nominated.contains(name.toString()) || name.contentEqualsIgnoreCase(REQUEST_ID)
          || name.contentEqualsIgnoreCase(API_KEY_ID)) {
        continue;
      }
      if (keyHeader != null && name.contentEqualsIgnoreCase(keyHeader)) {
        continue;
      }
      if (secretHeader != null && name.contentEqualsIgnoreCase(secretHeader)) {
        continue;
      }
      if (name.contentEqualsIgnoreCase(X_FORWARDED_FOR)) {
        forwardedFor = forwardedFor == null ? e.getValue() : forwardedFor + ", " + e.getValue();
        continue;
      }
      if (name.contentEqualsIgnoreCase(X_FORWARDED_PROTO)
          || name.contentEqualsIgnoreCase(X_FORWARDED_HOST)) {
        continue;
      }
      b.add(name, e.getValue());
    }
    String client = ctx.remoteAddress().getAddress().getHostAddress();
    b.add(X_FORWARDED_FOR, forwardedFor == null ? client : forwardedFor + ", " + client);
    b.add(X_FORWARDED_PROTO, ctx.sessionProtocol().isTls() ? "https" : "http");
    String authority = h.authority();
    if (authority != null) {
      b.add(X_FORWARDED_HOST, authority);
    }
    b.add(REQUEST_ID, x.requestId);
    if (check != null && !check.getKeyId().isEmpty() && plain(check.getKeyId())) {
      b.add(API_KEY_ID, check.getKeyId());
    }
    return b;
  }

  /** Whether {@code v} holds no control character, so it can go into a header as it is. */
  private static boolean plain(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        return false;
      }
    }
    return true;
  }

  /** Tees a response into the cache: 200 answers of at most 1 MiB, not marked no-store. */
  private static HttpResponse collectInto(HttpResponse res, StageCache cache, String key,
      int ttlSeconds) {
    final class Collector {
      ResponseHeaders headers;
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      boolean tooLarge;
    }
    Collector c = new Collector();
    HttpResponse teed = res.peekHeaders(rh -> {
      if (!rh.status().isInformational()) {
        c.headers = rh;
        long length = rh.contentLength();
        if (length > GatewayConfig.MAX_CACHED_BODY_BYTES) {
          c.tooLarge = true;
        }
      }
    }).peekData(data -> {
      if (!c.tooLarge) {
        if (c.body.size() + data.length() > GatewayConfig.MAX_CACHED_BODY_BYTES) {
          c.tooLarge = true;
          c.body = null;
        } else {
          c.body.write(data.array(), 0, data.length());
        }
      }
    });
    teed.whenComplete().thenRun(() -> {
      ResponseHeaders rh = c.headers;
      if (rh == null || c.tooLarge || rh.status().code() != 200) {
        return;
      }
      String cc = rh.get(HttpHeaderNames.CACHE_CONTROL);
      if (cc != null && (cc.contains("no-store") || cc.contains("private"))) {
        return;
      }
      List<String> pairs = new ArrayList<>();
      for (Map.Entry<AsciiString, String> e : rh) {
        AsciiString n = e.getKey();
        if (n.byteAt(0) == ':' || HOP_BY_HOP.contains(n) || n.contentEqualsIgnoreCase("date")) {
          continue;
        }
        pairs.add(n.toString());
        pairs.add(e.getValue());
      }
      cache.put(key, new StageCache.Entry(200, pairs.toArray(new String[0]),
          c.body.toByteArray(), ttlSeconds * 1_000_000_000L));
    });
    return teed;
  }

  private static HttpResponse fromCache(StageCache.Entry e, Exchange x, CheckResponse check,
      String warning) {
    ResponseHeadersBuilder b = ResponseHeaders.builder(e.status());
    String[] hs = e.headers();
    for (int i = 0; i < hs.length; i += 2) {
      b.add(hs[i], hs[i + 1]);
    }
    b.set(REQUEST_ID, x.requestId);
    b.set(X_CACHE, "HIT");
    if (check != null) {
      RateLimitHeaders.add(b, check, false);
    }
    if (warning != null) {
      b.set(HttpHeaderNames.WARNING, warning);
    }
    return HttpResponse.of(b.build(), HttpData.wrap(e.body()));
  }

  static boolean wantsRefresh(RequestHeaders h) {
    for (String cc : h.getAll(HttpHeaderNames.CACHE_CONTROL)) {
      for (String directive : cc.split(",")) {
        String d = directive.replace(" ", "").replace("\t", "").toLowerCase(Locale.ROOT);
        if (d.equals("max-age=0") || d.equals("max-age=\"0\"")) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean mayInvalidate(Invalidation inv, RequestHeaders h, CheckResponse check) {
    if (!inv.requireAuthorization()) {
      return true;
    }
    if (inv.header() != null) {
      String v = h.get(inv.header());
      if (v != null && MessageDigest.isEqual(v.getBytes(StandardCharsets.UTF_8),
          inv.headerValue().getBytes(StandardCharsets.UTF_8))) {
        return true;
      }
    }
    return check != null && !check.getKeyId().isEmpty() && inv.keyIds().contains(
        check.getKeyId());
  }

  /**
   * The request's method, the route and the route's key parameters; never the API key (the config
   * refuses key parameters naming it).
   */
  static String cacheKey(Match m, RequestHeaders h, String query) {
    StringBuilder k = new StringBuilder(h.method().name()).append(' ')
        .append(m.route().template());
    QueryParams params = null;
    for (CacheKeyParameter p : m.route().cache().keyParameters()) {
      k.append('\n').append(p.source()).append('.').append(p.name()).append('=');
      String v = switch (p.source()) {
        case "path" -> m.params().get(p.name());
        case "query" -> {
          if (params == null) {
            params = query == null ? QueryParams.of() : QueryParams.fromQueryString(query);
          }
          yield String.join(",", params.getAll(p.name()));
        }
        default -> String.join(",", h.getAll(p.name()));
      };
      k.append(v == null ? "" : v);
    }
    return k.toString();
  }

  /**
   * {@code query} without any {@code name} parameter (the API key's), other parameters kept
   * byte for byte in their order; null when nothing is left.
   */
  static String withoutParameter(String query, String name) {
    if (query == null || name == null) {
      return query;
    }
    StringBuilder out = new StringBuilder(query.length());
    for (String pair : query.split("&", -1)) {
      int eq = pair.indexOf('=');
      String rawName = eq < 0 ? pair : pair.substring(0, eq);
      String decoded;
      try {
        decoded = java.net.URLDecoder.decode(rawName, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        decoded = rawName;
      }
      if (decoded.equals(name)) {
        continue;
      }
      if (out.length() > 0) {
        out.append('&');
      }
      out.append(pair);
    }
    return out.length() == 0 ? null : out.toString();
  }

  private static String apiKey(GatewayConfig cfg, RequestHeaders h, String query) {
    if (cfg.apiKey().header() != null) {
      String v = h.get(cfg.apiKey().header());
      return v == null ? "" : v.trim();
    }
    if (query == null) {
      return "";
    }
    String v = QueryParams.fromQueryString(query).get(cfg.apiKey().queryParameter());
    return v == null ? "" : v;
  }

  /** A client's X-Request-ID when it is 1 to 200 visible ASCII characters; else a new one. */
  static String requestId(String given) {
    if (given != null && !given.isEmpty() && given.length() <= 200) {
      boolean ok = true;
      for (int i = 0; i < given.length() && ok; i++) {
        char c = given.charAt(i);
        ok = c > 0x20 && c < 0x7f;
      }
      if (ok) {
        return given;
      }
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    // A version-4 UUID without SecureRandom's cost: request ids need no secrecy.
    long hi = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(hi, lo).toString();
  }

  private static HttpResponse json(HttpStatus status, String message, Exchange x,
      CheckResponse check, String warning) {
    ResponseHeadersBuilder b = ResponseHeaders.builder(status).contentType(MediaType.JSON_UTF_8);
    b.set(REQUEST_ID, x.requestId);
    if (check != null) {
      RateLimitHeaders.add(b, check, status == HttpStatus.TOO_MANY_REQUESTS);
    }
    if (warning != null) {
      b.set(HttpHeaderNames.WARNING, warning);
    }
    return HttpResponse.of(b.build(), HttpData.ofUtf8("{\"message\":\"" + message + "\"}"));
  }

  private void finish(ServiceRequestContext ctx, Exchange x, RequestLog log) {
    if (x.inFlight != null) {
      x.inFlight.decrementAndGet();
    }
    int status = log.responseHeaders().status().code();
    long nanos = nanoClock.read() - x.startNanos;
    metrics.request(x.stage, x.route, status, nanos);
    if (!accessLog.enabled()) {
      return;
    }
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"time\":\"").append(x.startTime).append('"');
    sb.append(",\"request_id\":");
    AccessLog.quote(sb, x.requestId);
    sb.append(",\"client\":");
    AccessLog.quote(sb, ctx.remoteAddress().getAddress().getHostAddress());
    sb.append(",\"method\":");
    AccessLog.quote(sb, ctx.method().name());
    sb.append(",\"path\":");
    AccessLog.quote(sb, ctx.path());
    sb.append(",\"protocol\":");
    AccessLog.quote(sb, ctx.sessionProtocol().uriText());
    sb.append(",\"stage\":");
    AccessLog.quote(sb, x.stage);
    sb.append(",\"route\":");
    AccessLog.quote(sb, x.route);
    sb.append(",\"status\":").append(status);
    sb.append(",\"request_bytes\":").append(log.requestLength());
    sb.append(",\"response_bytes\":").append(log.responseLength());
    sb.append(",\"duration_ms\":");
    appendMillis(sb, nanos);
    sb.append(",\"limiter\":");
    AccessLog.quote(sb, x.limiter);
    sb.append(",\"key_id\":");
    AccessLog.quote(sb, x.keyId);
    sb.append(",\"cache\":");
    AccessLog.quote(sb, x.cache);
    sb.append(",\"upstream\":");
    Route upstreamRoute = x.upstreamRoute;
    AccessLog.quote(sb, upstreamRoute == null ? null : upstreamRoute.upstreams().size() == 1
        ? upstreamRoute.upstreams().get(0).toString() : "pool");
    sb.append('}');
    accessLog.write(sb.toString());
  }

  /** {@code nanos} as milliseconds with three decimals (rounded half up), as "%.3f" would. */
  static void appendMillis(StringBuilder sb, long nanos) {
    long micros = (Math.max(nanos, 0) + 500) / 1_000;
    sb.append(micros / 1_000).append('.');
    long frac = micros % 1_000;
    if (frac < 100) {
      sb.append('0');
    }
    if (frac < 10) {
      sb.append('0');
    }
    sb.append(frac);
  }
}
