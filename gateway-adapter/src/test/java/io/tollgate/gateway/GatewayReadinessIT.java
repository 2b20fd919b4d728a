package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * No unchecked request because the adapter is new or the limiter restarted: the packaged limiter
 * and adapter jars are started at the same moment, and later the limiter is stopped and started
 * again, while requests with a key whose quota is 20 a day are sent from the first moment. Every
 * answer must be a decision of the limiter (200 with rate-limit headers, then 429 "Limit
 * Exceeded"), or 503 before the adapter is ready; never an unchecked 200, so never more than 20
 * answers of 200 per key. The adapter fails open, as by default.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayReadinessIT {

  static final String FIRST_KEY = "readiness-first-key-0123456789";
  static final String RESTART_KEY = "readiness-restart-key-0123456789";
  /** Bounds of each sending loop: requests, and time. */
  static final int MAX_REQUESTS = 5_000;
  static final Duration MAX_TIME = Duration.ofSeconds(180);

  @TempDir
  static Path dir;
  static Processes.Proc limiter;
  static Processes.Proc adapter;
  static TestUpstream upstream;
  static List<String> limiterArgs;
  static int limiterHttp;
  static int port;
  static int admin;

  @AfterAll
  static void stop() throws Exception {
    Processes.closeAll(adapter, limiter, upstream);
  }


  /** One answer: its status, whether it carried rate-limit headers, and its body. */
  record Answer(int status, boolean checked, String body) {
    @Override
    public String toString() {
      return status + (checked ? " checked " : " ") + body;
    }
  }

  static Answer send(String key) throws Exception {
    HttpResponse<String> r = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + port + "/prod/pets/1")).header("x-api-key", key)
        .timeout(Duration.ofSeconds(90)).build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), r.headers().firstValue("x-ratelimit-limit").isPresent(),
        r.body());
  }

  /**
   * Sends requests with {@code key} until 25 decisions came back (20 allowed and 5 over the
   * quota), within the loop's bounds; answers that could not be had (the port not yet open)
   * are skipped.
   */
  static List<Answer> sendUntilDecided(String key) throws Exception {
    List<Answer> answers = new ArrayList<>();
    long end = System.nanoTime() + MAX_TIME.toNanos();
    int decided = 0;
    for (int i = 0; i < MAX_REQUESTS && decided < 25 && System.nanoTime() < end; i++) {
      Answer a;
      try {
        a = send(key);
      } catch (IOException notListeningYet) {
        Thread.sleep(50);
        continue;
      }
      answers.add(a);
      if (a.status() != 503) {
        decided++;
      } else {
        Thread.sleep(50);
      }
    }
    return answers;
  }

  /** Every 200 was checked, at most 20 of them; 503s only before the first decision. */
  static void assertEveryAnswerChecked(List<Answer> answers, boolean may503BeforeReady) {
    int allowed = 0;
    boolean decided = false;
    for (Answer a : answers) {
      switch (a.status()) {
        case 200 -> {
          assertTrue(a.checked(), "an unchecked 200 in " + answers);
          allowed++;
          decided = true;
        }
        case 429 -> {
          assertEquals("{\"message\":\"Limit Exceeded\"}", a.body(), answers.toString());
          decided = true;
        }
        case 503 -> assertTrue(may503BeforeReady && !decided, "503 after ready in " + answers);
        default -> throw new AssertionError("unexpected " + a + " in " + answers);
      }
    }
    assertEquals(20, allowed, "200s for a quota of 20 in " + answers);
    assertTrue(answers.stream().filter(a -> a.status() == 429).count() >= 5,
        "no quota decisions after the 20th: " + answers);
  }

  @Test
  @Order(1)
  void startedTogetherEveryAnswerIsADecisionOr503BeforeReady() throws Exception {
    Path limiterConfig = Files.createDirectories(dir.resolve("limiter"));
    Files.writeString(limiterConfig.resolve("plans.yaml"), """
        usage_plans:
          - id: quota20
            throttle: {rate: 1000, burst: 1000}
            quota: {limit: 20, period: DAY}
            api_stages: [{api: petstore, stage: prod}]
        api_keys:
          - id: first
            value: %s
            plans: [quota20]
          - id: restart
            value: %s
            plans: [quota20]
        """.formatted(FIRST_KEY, RESTART_KEY));
    int grpc = Processes.freePort();
    limiterHttp = Processes.freePort();
    limiterArgs = List.of("-jar", Processes.LIMITER_JAR.toString(), "--config",
        limiterConfig.toString(), "--grpc-port", Integer.toString(grpc), "--http-port",
        Integer.toString(limiterHttp), "--cluster-port", Integer.toString(Processes.freePort()),
        "--admin-token", "limiter-admin-token-0123456789", "--data-dir",
        dir.resolve("data").toString());
    upstream = new TestUpstream(Processes.freePort());
    Path config = dir.resolve("adapter.yaml");
    // A deadline long enough to cover a limiter restart on a busy machine: a check waits for
    // the connection instead of failing open.
    Files.writeString(config, """
        api: petstore
        limiter: {failure_mode: fail_open, deadline_ms: 60000}
        stages: [{name: prod}]
        routes:
          - route: GET /pets/{id}
            upstreams: [http://127.0.0.1:UP]
            api_key_required: true
        """.replace("UP", Integer.toString(upstream.port())));
    port = Processes.freePort();
    admin = Processes.freePort();
    // Both at once, as a user starting the README's commands would.
    limiter = new Processes.Proc("ready-limiter", limiterArgs);
    adapter = Processes.adapter("ready-adapter", config, port, admin, "127.0.0.1:" + grpc);

    List<Answer> answers = sendUntilDecided(FIRST_KEY);
    assertEveryAnswerChecked(answers, true);
    adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(10));
  }

  @Test
  @Order(2)
  void afterALimiterRestartEveryAnswerIsADecision() throws Exception {
    limiter.close();
    limiter = new Processes.Proc("ready-limiter-again", limiterArgs);
    List<Answer> answers = sendUntilDecided(RESTART_KEY);
    assertEveryAnswerChecked(answers, false);
    limiter.awaitHealthy("http://127.0.0.1:" + limiterHttp + "/healthz", Duration.ofSeconds(10));
  }
}
