package io.tollgate.gateway;

import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.server.ServerBuilder;
import com.linecorp.armeria.server.ServiceRequestContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The admin port: {@code GET /metrics} (Prometheus text), {@code GET /healthz}, and {@code POST
 * /admin/stages/{stage}/cache/flush} (bearer token; without a configured token it answers 401 to
 * everyone).
 */
public final class AdminService {

  private final GatewayMetrics metrics;
  private final Function<String, StageCache> caches;
  private final byte[] token;
  private final Supplier<String> notReady;

  /**
   * {@code token} null or empty closes the flush endpoint; {@code notReady} gives null when the
   * adapter is ready, else the reason {@code /healthz} names.
   */
  public AdminService(GatewayMetrics metrics, Function<String, StageCache> caches, String token,
      Supplier<String> notReady) {
    this.metrics = metrics;
    this.caches = caches;
    this.token = token == null || token.isEmpty() ? null
        : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    this.notReady = notReady;
  }

  /** Adds the endpoints to {@code sb}. */
  public void bind(ServerBuilder sb) {
    sb.service("/metrics", (ctx, req) -> HttpResponse.of(HttpStatus.OK,
        MediaType.parse("text/plain; version=0.0.4; charset=utf-8"), metrics.scrape()));
    sb.service("/healthz", (ctx, req) -> {
      String why = notReady.get();
      return why == null ? HttpResponse.of(HttpStatus.OK, MediaType.PLAIN_TEXT_UTF_8, "OK")
          : HttpResponse.of(HttpStatus.SERVICE_UNAVAILABLE, MediaType.PLAIN_TEXT_UTF_8,
              "NOT READY: " + why);
    });
    sb.service("/admin/stages/{stage}/cache/flush", (ctx, req) -> flush(ctx,
        req.headers().get("authorization")));
  }

  private HttpResponse flush(ServiceRequestContext ctx, String authorization) {
    if (ctx.method() != com.linecorp.armeria.common.HttpMethod.POST) {
      return json(HttpStatus.METHOD_NOT_ALLOWED, "{\"error\":\"use POST\"}");
    }
    if (token == null || authorization == null || !MessageDigest.isEqual(token,
        authorization.getBytes(StandardCharsets.UTF_8))) {
      return json(HttpStatus.UNAUTHORIZED, "{\"error\":\"missing or wrong admin token\"}");
    }
    String stage = ctx.pathParam("stage");
    StageCache cache = caches.apply(stage);
    if (cache == null) {
      return json(HttpStatus.NOT_FOUND, "{\"error\":\"no stage '" + stage.replace("\"", "")
          + "'\"}");
    }
    long entries = cache.size();
    cache.flush();
    return json(HttpStatus.OK, "{\"stage\":\"" + stage + "\",\"flushed\":" + entries + "}");
  }

  private static HttpResponse json(HttpStatus status, String body) {
    return HttpResponse.of(status, MediaType.JSON_UTF_8, body);
  }
}
