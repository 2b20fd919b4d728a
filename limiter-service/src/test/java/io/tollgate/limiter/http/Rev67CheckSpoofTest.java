package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.tollgate.limiter.service.RequestValidator;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Review rev67: what a client can do to the /check mapping through the gateways of deploy/. */
class Rev67CheckSpoofTest {

  private static RateLimitRequest apply(String query, Map<String, String> headers) {
    TreeMap<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    h.putAll(headers);
    return CheckMapping.parse(query).apply(h::get, "GET");
  }

  /**
   * Traefik ForwardAuth (deploy/traefik/dynamic.yml) copies every client header and sets
   * X-Forwarded-Method/-Uri itself; it does not touch X-Original-*. CheckMapping prefers
   * X-Original-*, so the client picks the method and path that are counted.
   */
  @Test
  void traefikSetForwardedUriWinsOverClientSuppliedOriginalUri() {
    RateLimitRequest r = apply("domain=traefik&descriptor=method:method,path:path", Map.of(
        "X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/api/login",
        // sent by the client, passed through by Traefik:
        "X-Original-Method", "GET", "X-Original-URI", "/random-12345"));
    assertEquals("/api/login", r.getDescriptors(0).getEntries(1).getValue());
    assertEquals("POST", r.getDescriptors(0).getEntries(0).getValue());
  }

  /**
   * nginx (deploy/nginx/tollgate.conf) and Kong (fault_tolerant default true) let the request
   * through on any answer but 200/429. A URI over 1024 bytes makes the whole /check a 400, so
   * every limit of the request, the per-address one included, is skipped.
   */
  @Test
  void aLongUriDoesNotTurnTheWholeDecisionIntoA400() {
    String uri = "/x?" + "a".repeat(1100);
    RateLimitRequest r = apply("domain=nginx&descriptor=remote_address:remote_address"
        + "&descriptor=method:method,path:path,uri:uri",
        Map.of("X-Real-IP", "203.0.113.9", "X-Original-Method", "GET", "X-Original-URI", uri));
    assertDoesNotThrow(() -> RequestValidator.validate(r));
  }
}
