package io.tollgate.limiter.tracing;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Decisions are traced when the OpenTelemetry Java agent is attached, as a user attaches it, and
 * the caller's trace context (Envoy's {@code traceparent}) is the parent; without the agent
 * nothing records.
 */
class TracingTest {

  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PARENT_SPAN = "00f067aa0ba902b7";

  @Test
  void aDecisionIsASpanUnderTheCallersTraceWhenTheAgentIsAttached() throws Exception {
    Path agent = agentJar();
    List<String> jvm = List.of("-javaagent:" + agent,
        "-Dotel.service.name=tollgate-test",
        "-Dotel.traces.exporter=logging", "-Dotel.metrics.exporter=none",
        "-Dotel.logs.exporter=none", "-Dotel.bsp.schedule.delay=100");
    try (LimiterProcess limiter = LimiterProcess.startWithJvmArgs("tracing", jvm, resource("fuzz/rules.yaml"),
        FreePorts.next())) {
      limiter.awaitReady(Duration.ofSeconds(120));
      ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", limiter.grpcPort)
          .usePlaintext().build();
      try {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER),
            "00-" + TRACE_ID + "-" + PARENT_SPAN + "-01");
        RateLimitResponse r = RateLimitServiceGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .shouldRateLimit(request("fuzz", descriptor("user", "traced")));
        assertEquals(RateLimitResponse.Code.OK, r.getOverallCode());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      Awaits.await("the decision's span in the log", Duration.ofSeconds(30),
          () -> decisionSpan(limiter.log()) != null);
      String span = decisionSpan(limiter.log());
      assertTrue(span.contains(TRACE_ID), "not in the caller's trace: " + span);
      assertTrue(span.contains("ratelimit.domain=fuzz"), span);
      assertTrue(span.contains("ratelimit.overall_code=OK"), span);
      assertTrue(span.contains("ratelimit.descriptors=1"), span);
      assertFalse(span.contains("traced"), "a descriptor value reached the trace: " + span);
    }
  }

  @Test
  void withoutTheAgentNothingRecords() {
    assertFalse(DecisionTracing.fromGlobal().start("tollgate.should_rate_limit").isRecording());
  }

  /** The logging exporter's line for the decision's span, or null. */
  private static String decisionSpan(String log) {
    return log.lines().filter(l -> l.contains("'tollgate.should_rate_limit'")).findFirst()
        .orElse(null);
  }

  private static Path agentJar() {
    return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(p -> Path.of(p).getFileName().toString().startsWith("opentelemetry-javaagent"))
        .map(Path::of).findFirst()
        .orElseThrow(() -> new IllegalStateException("the OpenTelemetry agent jar is not on the "
            + "test class path (a test dependency of limiter-service)"));
  }

  private static Path resource(String name) throws URISyntaxException {
    return Path.of(TracingTest.class.getClassLoader().getResource(name).toURI());
  }
}
