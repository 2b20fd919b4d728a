package io.tollgate.limiter.protocol;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static io.tollgate.limiter.testing.Requests.withHits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.tollgate.limiter.testing.LimiterExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Many concurrent requests, each with a descriptor shared by all and one of its caller's own:
 * once every answer is in, each counter holds exactly the units of the requests it admitted.
 */
class AllOrNothingConcurrencyTest {

  private static final int CALLERS = 20;
  private static final int REQUESTS_PER_CALLER = 10;
  @RegisterExtension
  static final LimiterExtension LIMITER = new LimiterExtension("/service/atomic.yaml");

  private static long remaining(RateLimitDescriptor d) {
    return LIMITER.limiter().client.call(request("atomic", withHits(d, 0))).getStatuses(0)
        .getLimitRemaining();
  }

  /** Sends every request at once and returns how many each caller got through. */
  private static int[] race(RateLimitDescriptor shared, String run) throws Exception {
    List<ListenableFuture<RateLimitResponse>> calls = new ArrayList<>();
    for (int r = 0; r < REQUESTS_PER_CALLER; r++) {
      for (int c = 0; c < CALLERS; c++) {
        calls.add(LIMITER.limiter().client.futureStub().withDeadlineAfter(30, TimeUnit.SECONDS)
            .shouldRateLimit(request("atomic", shared, descriptor("caller", run + c))));
      }
    }
    int[] admitted = new int[CALLERS];
    for (int i = 0; i < calls.size(); i++) {
      if (calls.get(i).get().getOverallCode() == Code.OK) {
        admitted[i % CALLERS]++;
      }
    }
    return admitted;
  }

  @Test
  void deniedRequestsLeaveNothingBehindInTheSharedCounter() throws Exception {
    RateLimitDescriptor shared = descriptor("wide", "plenty");
    int[] admitted = race(shared, "plenty-");
    int total = 0;
    for (int c = 0; c < CALLERS; c++) {
      assertEquals(3, admitted[c], "caller " + c + " has 3 per day and 10 tries");
      assertEquals(0, remaining(descriptor("caller", "plenty-" + c)));
      total += admitted[c];
    }
    assertEquals(1000 - total, remaining(shared),
        "140 requests were denied by their caller's limit; none of them may stay counted");
  }

  @Test
  void aScarceSharedLimitIsNeverOverAdmittedAndCountsOnlyWhatItAdmitted() throws Exception {
    RateLimitDescriptor shared = descriptor("wide", "scarce");
    int[] admitted = race(shared, "scarce-");
    int total = 0;
    for (int c = 0; c < CALLERS; c++) {
      assertTrue(admitted[c] <= 3, "caller " + c + " over its limit: " + admitted[c]);
      assertEquals(3 - admitted[c], remaining(descriptor("caller", "scarce-" + c)),
          "caller " + c + "'s counter holds only its admitted requests");
      total += admitted[c];
    }
    assertTrue(total <= 50, "shared limit over-admitted: " + total);
    assertEquals(50 - total, remaining(shared), "the shared counter holds only admitted requests");
  }
}
