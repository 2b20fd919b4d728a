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

  @Test
  void durationsAreWrittenAsMillisecondsWithThreeDecimals() {
    for (long nanos : new long[] {0, 499, 500, 1_000, 35_618_000, 35_618_499, 35_618_500,
        999_999_999, 12_000_000_000L, 1_234_567}) {
      StringBuilder sb = new StringBuilder();
      ProxyService.appendMillis(sb, nanos);
      assertEquals(String.format(java.util.Locale.ROOT, "%.3f",
          java.math.BigDecimal.valueOf(nanos).movePointLeft(6)
              .setScale(3, java.math.RoundingMode.HALF_UP)), sb.toString(), "nanos " + nanos);
    }
  }
}
