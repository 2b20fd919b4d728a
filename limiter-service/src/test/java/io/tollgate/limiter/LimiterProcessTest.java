package io.tollgate.limiter;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import io.tollgate.limiter.testing.RlsClient;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine.Option;

/** The limiter as its users run it: its own JVM, flags, exit codes and signals. */
class LimiterProcessTest {

  private static final Duration START = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  private Path writeConfig(String name, String yaml) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, yaml);
    return file;
  }

  @Test
  void helpListsEveryFlag() throws Exception {
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(30), "--help");
    assertEquals(0, r.exitCode(), r.output());
    // Every option Settings declares, and the RL_ variable its default reads, so that a new flag
    // cannot be left out of --help unnoticed.
    List<String> expected = new ArrayList<>();
    for (Field field : Settings.class.getDeclaredFields()) {
      Option option = field.getAnnotation(Option.class);
      if (option == null || option.hidden()) {
        continue;
      }
      expected.add(Arrays.stream(option.names()).max(Comparator.comparingInt(String::length))
          .orElseThrow());
      Matcher env = Pattern.compile("\\$\\{env:(RL_[A-Z0-9_]+)").matcher(option.defaultValue());
      if (env.find()) {
        expected.add(env.group(1));
      }
    }
    assertTrue(expected.contains("--over-limit-cache-size"), expected.toString());
    assertTrue(expected.contains("RL_GRPC_PORT"), expected.toString());
    for (String flag : expected) {
      assertTrue(r.output().contains(flag), "--help lacks " + flag + ":\n" + r.output());
    }
  }

  @Test
  void badFlagExitsWithUsageError() throws Exception {
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(30), "--config", "x.yaml",
        "--grpc-port", "seven");
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("--grpc-port"), r.output());
  }

  /** A flag value out of range exits 2 with a message naming the flag, the value and why. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--members | 127.0.0.1 | error: --members: '127.0.0.1' is not host:port",
      "--grpc-max-connections | 0 | error: --grpc-max-connections: 0 is below 1"})
  void badFlagValueIsNamed(String flag, String value, String message) throws Exception {
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(30), "--config", "x.yaml",
        flag, value);
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains(message), r.output());
  }

  @Test
  void badConfigAtStartExitsNamingFileLineAndField() throws Exception {
    Path config = writeConfig("rules.yaml", """
        domain: web
        descriptors:
          - key: ip
            rate_limit:
              unit: hours
              requests_per_unit: 5
        """);
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(60), "--config",
        config.toString(), "--grpc-port", "0", "--http-port", "0", "--cluster-port",
        Integer.toString(FreePorts.next()));
    assertEquals(1, r.exitCode(), r.output());
    assertTrue(r.output().contains("error: bad config: rules.yaml:5: descriptors[0].rate_limit"
        + ".unit: unknown unit 'hours'"), r.output());
  }

  @Test
  void sigtermDrainsInFlightCallsAndExitsZero() throws Exception {
    Path config = writeConfig("rules.yaml", """
        domain: web
        descriptors:
          - key: ip
            rate_limit: {unit: day, requests_per_unit: 100000}
        """);
    try (LimiterProcess limiter = LimiterProcess.start("sigterm", config, FreePorts.next())
        .awaitReady(START); RlsClient client = new RlsClient(limiter.grpcPort)) {
      assertEquals(ServingStatus.SERVING, client.health());
      List<ListenableFuture<RateLimitResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        calls.add(client.futureStub().withDeadlineAfter(20, TimeUnit.SECONDS)
            .shouldRateLimit(request("web", descriptor("ip", "10.0.0." + (i % 7)))));
      }
      assertEquals(0, limiter.terminate(Duration.ofSeconds(30)), limiter.log());
      int answered = 0;
      for (ListenableFuture<RateLimitResponse> call : calls) {
        try {
          assertEquals(RateLimitResponse.Code.OK, call.get().getOverallCode());
          answered++;
        } catch (ExecutionException e) {
          // Calls that arrived after the server stopped accepting are refused, never cut off.
          assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(e.getCause()).getCode(),
              e.getCause().toString());
        }
      }
      assertTrue(answered > 0, "no call was answered before shutdown");
      assertTrue(limiter.log().contains("SIGTERM received; shutting down"), limiter.log());
      assertTrue(limiter.log().contains("stopped"), limiter.log());
    }
  }

  @Test
  void sigtermDuringStartUpStillExitsZero() throws Exception {
    Path config = writeConfig("rules.yaml", "domain: web\ndescriptors: []\n");
    int unreachable = FreePorts.next();
    try (LimiterProcess limiter = LimiterProcess.start("sigterm-start", config, FreePorts.next(),
        "--members", "127.0.0.1:" + unreachable)) {
      io.tollgate.limiter.testing.Awaits.await("the config to load", START,
          () -> limiter.log().contains("loaded 0 limits"));
      assertEquals(0, limiter.terminate(Duration.ofSeconds(90)), limiter.log());
      assertTrue(limiter.log().contains("stopped"), limiter.log());
    }
  }
}
