package io.tollgate.limiter.http;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * When the counters cannot answer, HTTP says 503 and gRPC UNAVAILABLE: a gateway must be able to
 * tell a store outage from its own bad request (400), and apply its failure mode. The outage is
 * real: the limiter's own grid member is shut down under it.
 */
class StoreFailureTest {

  @Test
  void aFailedStoreCallIsUnavailableNotABadRequest() throws Exception {
    try (InJvmLimiter limiter = InJvmLimiter.start(Path.of(StoreFailureTest.class.getResource(
        "/service/rules.yaml").toURI()), new FakeClock())) {
      HazelcastInstance member = null;
      for (HazelcastInstance h : Hazelcast.getAllHazelcastInstances()) {
        if (h.getCluster().getLocalMember().getAddress().getPort() == limiter.clusterPort) {
          member = h;
        }
      }
      assertEquals(200, limiter.post("/json", json()).statusCode());
      member.getLifecycleService().terminate();

      HttpResponse<String> r = limiter.post("/json", json());
      assertEquals(503, r.statusCode(), r.body());
      HttpResponse<String> check = limiter.get("/check?domain=test&descriptor=five:=x");
      assertEquals(503, check.statusCode(), check.body());
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> limiter.client.call(request("test", descriptor("five", "store"))));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    }
  }

  private static String json() {
    return "{\"domain\":\"test\",\"descriptors\":[{\"entries\":[{\"key\":\"five\","
        + "\"value\":\"store\"}]}]}";
  }
}
