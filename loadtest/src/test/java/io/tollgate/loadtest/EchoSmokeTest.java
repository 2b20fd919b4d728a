package io.tollgate.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.tollgate.loadtest.generate.KeySampler;
import io.tollgate.loadtest.generate.LoadGenerator;
import io.tollgate.loadtest.generate.ProcCpu;
import io.tollgate.loadtest.generate.RunSettings;
import io.tollgate.loadtest.report.RunResult;
import io.tollgate.loadtest.server.EchoRateLimitService;
import io.tollgate.loadtest.server.GrpcSettings;
import io.tollgate.loadtest.target.RlsTarget;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The generator end to end against the echo baseline on a real loopback port, in this JVM. */
class EchoSmokeTest {

  private Server server;

  @BeforeEach
  void start() throws Exception {
    server = GrpcSettings.TOLLGATE.start(0, new EchoRateLimitService());
  }

  @AfterEach
  void stop() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void closedLoopForTwoSeconds() throws Exception {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    RunResult r;
    try (RlsTarget target = new RlsTarget("127.0.0.1:" + server.getPort(), "loadtest", "k", "",
        5_000)) {
      RunSettings settings = new RunSettings(false, 0, 4, 10_000, 0, 2, 4,
          KeySampler.parse("zipf:1000:1.1"), 1);
      long pid = ProcessHandle.current().pid();
      r = new LoadGenerator(target, settings,
          new PrintStream(progress, true, StandardCharsets.UTF_8), List.of(pid), new ProcCpu())
          .run();
    }
    String lines = progress.toString(StandardCharsets.UTF_8);
    assertEquals(0, r.errors, r.errorReasons.toString());
    assertTrue(r.allowed > 100, "decisions: " + r.allowed);
    assertEquals(0, r.denied, "echo never denies");
    assertEquals(r.allowed / r.measuredSeconds, r.throughput, 1e-6);
    assertTrue(r.measuredSeconds >= 1.9 && r.measuredSeconds < 3, "" + r.measuredSeconds);
    assertTrue(r.p50Ms > 0 && r.p50Ms <= r.p99Ms && r.p99Ms <= r.maxMs);
    assertTrue(r.cpuMicrosPerDecision > 0, "this JVM's CPU is measured");
    assertEquals(2, lines.lines().filter(l -> l.startsWith("[measure")).count(), lines);
    assertTrue(lines.contains("req/s") && lines.contains("p99"), lines);
  }

  @Test
  void openLoopSendsAtTheScheduledRate() throws Exception {
    RunResult r;
    try (RlsTarget target = new RlsTarget("127.0.0.1:" + server.getPort(), "loadtest", "k", "",
        5_000)) {
      RunSettings settings = new RunSettings(true, 200, 0, 1_000, 1, 1, 1,
          KeySampler.parse("uniform:100"), 1);
      r = new LoadGenerator(target, settings, new PrintStream(new ByteArrayOutputStream()),
          List.of(), new ProcCpu()).run();
    }
    assertEquals(0, r.errors, r.errorReasons.toString());
    // 200 intended sends in the measured second, give or take the edges.
    assertEquals(200, r.allowed, 20);
    assertEquals("open", r.mode);
  }
}
