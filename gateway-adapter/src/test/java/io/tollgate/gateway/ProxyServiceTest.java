package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.RequestHeaders;
import org.junit.jupiter.api.Test;

class ProxyServiceTest {

  static RequestHeaders cc(String v) {
    return RequestHeaders.builder(HttpMethod.GET, "/").add("cache-control", v).build();
  }

  @Test
  void maxAgeZeroIsMatchedAsAWholeDirective() {
    assertTrue(ProxyService.wantsRefresh(cc("max-age=0")));
    assertTrue(ProxyService.wantsRefresh(cc("no-transform, Max-Age = 0")));
    assertFalse(ProxyService.wantsRefresh(cc("max-age=01")));
    assertFalse(ProxyService.wantsRefresh(cc("max-age=0123")));
    assertFalse(ProxyService.wantsRefresh(cc("s-max-age=0")));
  }

  @Test
  void theApiKeyParameterIsDroppedFromTheForwardedQuery() {
    assertEquals("x=1&y=%20", ProxyService.withoutParameter("api_key=s&x=1&api_key=t&y=%20",
        "api_key"));
    assertEquals("x=1", ProxyService.withoutParameter("api%5Fkey=s&x=1", "api_key"));
    assertNull(ProxyService.withoutParameter("api_key=s", "api_key"));
    assertEquals("a=1", ProxyService.withoutParameter("a=1", null));
  }
}
