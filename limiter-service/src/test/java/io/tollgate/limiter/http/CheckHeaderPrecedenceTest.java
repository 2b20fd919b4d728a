package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.tollgate.limiter.protocol.RequestValidator;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** What a client can do to the /check mapping through the gateways of deploy/ (review rev67). */
class CheckHeaderPrecedenceTest {

  private static RateLimitRequest apply(String query, Map<String, String> headers) {
    TreeMap<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    h.putAll(headers);
    return CheckMapping.parse(query).apply(h::get, "GET");
  }

  /**
   * Traefik ForwardAuth (deploy/traefik/dynamic.yml) copies every client header and sets
   * X-Forwarded-Method/-Uri itself; it does not touch X-Original-*. X-Forwarded-* must win, or
   * the client picks the method and path that are counted.
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
   * A URI over 1024 bytes once made the whole /check a 400, which nginx and Kong let through:
   * every limit of the request was skipped. Now the long value is replaced by its hash.
   */
  @Test
  void aLongUriDoesNotTurnTheWholeDecisionIntoA400() {
    String uri = "/x?" + "a".repeat(1100);
    RateLimitRequest r = apply("domain=nginx&descriptor=remote_address:remote_address"
        + "&descriptor=method:method,path:path,uri:uri",
        Map.of("X-Real-IP", "203.0.113.9", "X-Original-Method", "GET", "X-Original-URI", uri));
    assertDoesNotThrow(() -> RequestValidator.validate(r));
  }

  @Test
  void aTooLongValueIsCountedUnderItsHashAndOthersAreKept() {
    String uri = "/x?" + "a".repeat(1100);
    RateLimitRequest r = apply("domain=nginx&descriptor=remote_address:remote_address"
        + "&descriptor=uri:uri&descriptor=key:header.X-Key",
        Map.of("X-Real-IP", "203.0.113.9", "X-Forwarded-Uri", uri, "X-Key", "k".repeat(2000)));
    assertEquals(3, r.getDescriptorsCount());
    assertEquals("203.0.113.9", r.getDescriptors(0).getEntries(0).getValue());
    String hashed = r.getDescriptors(1).getEntries(0).getValue();
    assertTrue(hashed.matches("sha256:[0-9a-f]{64}"), hashed);
    assertEquals(CheckMapping.digest(uri), hashed);
    // Same value, same counter; another value, another counter.
    assertEquals(hashed, apply("domain=d&descriptor=uri:uri", Map.of("X-Forwarded-Uri", uri))
        .getDescriptors(0).getEntries(0).getValue());
    assertNotEquals(hashed, apply("domain=d&descriptor=uri:uri",
        Map.of("X-Forwarded-Uri", uri + "b")).getDescriptors(0).getEntries(0).getValue());
    // Exactly 1024 bytes is kept as it is.
    String limit = "/" + "a".repeat(RequestValidator.MAX_STRING_BYTES - 1);
    assertEquals(limit, apply("domain=d&descriptor=uri:uri", Map.of("X-Forwarded-Uri", limit))
        .getDescriptors(0).getEntries(0).getValue());
  }

  @Test
  void aTooLongDomainHeaderFallsBackToTheDomain() {
    RateLimitRequest r = apply("domain=fallback&domain_header=X-Domain&descriptor=k:=v",
        Map.of("X-Domain", "d".repeat(1100)));
    assertEquals("fallback", r.getDomain());
  }

  @Test
  void forwardedHostAndProtoWinAndMethodFallsBackToTheCall() {
    RateLimitRequest r = apply("domain=d&descriptor=host:host,proto:proto,method:method",
        Map.of("X-Forwarded-Host", "api.example.com", "Host", "tollgate:8080",
            "X-Forwarded-Proto", "https"));
    assertEquals("api.example.com", r.getDescriptors(0).getEntries(0).getValue());
    assertEquals("https", r.getDescriptors(0).getEntries(1).getValue());
    assertEquals("GET", r.getDescriptors(0).getEntries(2).getValue());
  }
}
