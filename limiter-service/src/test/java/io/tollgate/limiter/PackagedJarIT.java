package io.tollgate.limiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The packaged {@code limiter-service.jar}, run as the README says: {@code java -jar} with nothing
 * else on the class path and no JVM flags, on the example config. Runs in the verify phase, after
 * the jar is built.
 */
class PackagedJarIT {

  private static final Path JAR = Path.of("target", "limiter-service.jar");
  private static final Path EXAMPLES = Path.of("..", "deploy", "examples");

  @Test
  void runsFromTheJarAloneAndStopsCleanly() throws Exception {
    assertTrue(Files.isRegularFile(JAR), JAR + " was not built");
    try (LimiterProcess limiter = LimiterProcess.startJar("packaged-jar", JAR, EXAMPLES,
        FreePorts.next()).awaitReady(Duration.ofSeconds(90))) {
      String body = "{\"domain\":\"edge\",\"descriptors\":[{\"entries\":"
          + "[{\"key\":\"remote_address\",\"value\":\"203.0.113.7\"}]}]}";
      HttpResponse<String> r = limiter.httpPost("/json", body);
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().contains("\"overallCode\":\"OK\""), r.body());
      assertEquals(200, limiter.httpGet("/healthcheck").statusCode());
      assertEquals(0, limiter.terminate(Duration.ofSeconds(60)), limiter.log());
      String log = limiter.log();
      // Hazelcast warns when the module openings it needs are missing; the manifest grants them.
      assertFalse(log.contains("without proper access to required Java packages"), log);
      assertTrue(log.contains("stopped"), log);
    }
  }
}
