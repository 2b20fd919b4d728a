package io.tollgate.limiter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.tollgate.limiter.service.InvalidRequestException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The /check query format and where each source takes its value. */
class CheckMappingTest {

  private static RateLimitRequest apply(String query, Map<String, String> headers, String method) {
    TreeMap<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    h.putAll(headers);
    return CheckMapping.parse(query).apply(h::get, method);
  }

  /** Each descriptor as "key=value,key=value". */
  private static List<String> entries(RateLimitRequest request) {
    List<String> out = new ArrayList<>();
    for (RateLimitDescriptor d : request.getDescriptorsList()) {
      StringBuilder sb = new StringBuilder();
      for (RateLimitDescriptor.Entry e : d.getEntriesList()) {
        sb.append(sb.length() == 0 ? "" : ",").append(e.getKey()).append('=').append(e.getValue());
      }
      out.add(sb.toString());
    }
    return out;
  }

  @Test
  void mapsEverySourceFromTheOriginalRequestHeaders() {
    RateLimitRequest r = apply("domain=edge&descriptor=remote_address:remote_address"
            + "&descriptor=method:method,path:path,uri:uri&descriptor=host:host,proto:proto"
            + "&descriptor=api_key:header.X-Api-Key&descriptor=generic_key:=checkout&hits_addend=3",
        Map.of("X-Real-IP", "203.0.113.7", "X-Original-Method", "POST",
            "X-Original-URI", "/pets/1?x=y", "X-Forwarded-Host", "api.example.com",
            "X-Forwarded-Proto", "https", "x-api-key", "k1"), "GET");
    assertEquals("edge", r.getDomain());
    assertEquals(3, r.getHitsAddend());
    assertEquals(List.of("remote_address=203.0.113.7", "method=POST,path=/pets/1,uri=/pets/1?x=y",
        "host=api.example.com,proto=https", "api_key=k1", "generic_key=checkout"), entries(r));
  }

  @Test
  void forwardedHeadersOfTraefikAreTheFallback() {
    RateLimitRequest r = apply("domain=edge&descriptor=ip:remote_address,m:method,p:path,h:host",
        Map.of("X-Forwarded-For", "198.51.100.1, 203.0.113.9", "X-Forwarded-Method", "PUT",
            "X-Forwarded-Uri", "/a/b?c", "Host", "tollgate:8080"), "GET");
    assertEquals(List.of("ip=203.0.113.9,m=PUT,p=/a/b,h=tollgate:8080"), entries(r));
  }

  @Test
  void methodFallsBackToTheMethodOfTheCall() {
    RateLimitRequest r = apply("domain=edge&descriptor=method:method", Map.of(), "DELETE");
    assertEquals(List.of("method=DELETE"), entries(r));
  }

  @Test
  void aDescriptorWithAnAbsentSourceIsLeftOutAsEnvoyDoes() {
    RateLimitRequest r = apply("domain=edge&descriptor=api_key:header.X-Api-Key"
        + "&descriptor=ip:remote_address", Map.of("X-Real-IP", "10.0.0.1"), "GET");
    assertEquals(List.of("ip=10.0.0.1"), entries(r));
    assertNull(apply("domain=edge&descriptor=api_key:header.X-Api-Key", Map.of(), "GET"));
  }

  @Test
  void domainFromAHeaderWithTheParameterAsFallback() {
    assertEquals("tenant-a", apply("domain_header=X-Domain&domain=edge&descriptor=k:=v",
        Map.of("X-Domain", "tenant-a"), "GET").getDomain());
    assertEquals("edge", apply("domain_header=X-Domain&domain=edge&descriptor=k:=v",
        Map.of(), "GET").getDomain());
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> apply("domain_header=X-Domain&descriptor=k:=v", Map.of(), "GET"));
    assertEquals("header X-Domain (domain_header) is absent and no domain is set", e.getMessage());
  }

  @Test
  void piecesArePercentDecodedAfterSplitting() {
    RateLimitRequest r = apply("domain=my%20domain&descriptor=a%3Ab:=x%2Cy%3Az", Map.of(), "GET");
    assertEquals("my domain", r.getDomain());
    assertEquals(List.of("a:b=x,y:z"), entries(r));
  }

  @Test
  void badMappingsNameTheProblem() {
    assertBad("", "domain or domain_header is required");
    assertBad("domain=edge", "at least one descriptor is required");
    assertBad("domain=&descriptor=a:=b", "domain must not be empty");
    assertBad("domain=edge&descriptors=a:=b",
        "unknown parameter 'descriptors' (expected domain, domain_header, descriptor or hits_addend)");
    assertBad("domain=edge&descriptor=", "descriptor[0] is empty (expected KEY:SOURCE[,KEY:SOURCE...])");
    assertBad("domain=edge&descriptor=a:=b,ip", "descriptor[0]: 'ip' is not KEY:SOURCE");
    assertBad("domain=edge&descriptor=ip:remote_addr",
        "descriptor[0] entry 'ip': unknown source 'remote_addr' (expected remote_address, method,"
            + " path, uri, host, proto, header.NAME or =VALUE)");
    assertBad("domain=edge&descriptor=k:header.", "descriptor[0] entry 'k': header. needs a header name");
    assertBad("domain=edge&descriptor=k:=v&hits_addend=-1",
        "hits_addend: '-1' is not a number from 0 to 4294967295");
    assertBad("domain=edge&descriptor=k:=%zz", "descriptor[0]: bad percent-encoding in '=%zz'");
    assertBad("domain=edge" + "&descriptor=k:=v".repeat(65),
        "descriptor is given 65 times; at most 64 are allowed");
  }

  private static void assertBad(String query, String message) {
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> CheckMapping.parse(query));
    assertEquals(message, e.getMessage());
  }
}
