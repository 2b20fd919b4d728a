package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapter's connections to the limiter turn over without a lost or doubled check: the
 * packaged limiter retires every connection after a second (GOAWAY, {@code
 * --grpc-max-connection-age-seconds 1}) and takes two calls per connection at once ({@code
 * --grpc-max-calls-per-connection 2}), while eight clients send requests with a key whose quota
 * is 1,000 for 6 s or more. The adapter fails closed, so a check without an answer would show as
 * 503. Every answer must be a decision, and exactly 1,000 of them 200: a check lost would be a
 * 503, a check sent twice would spend the quota early.
 */
class GatewayLimiterConnectionIT {

  static final String KEY = "connection-turnover-key-0123456789";
  static final int QUOTA = 1_000;
  static final int CLIENTS = 8;
  /** Each client's requests; together 80 over the quota. */
  static final int PER_CLIENT = (QUOTA + 80) / CLIENTS;
  /** The pause between one client's requests, so the run spans several connection ages. */
  static final long PAUSE_MILLIS = 45;

  @TempDir
  static Path dir;
  static Processes.Proc limiter;
  static Processes.Proc adapter;
  static TestUpstream upstream;

  @AfterAll
  static void stop() throws Exception {
    Processes.closeAll(adapter, limiter, upstream);
  }


  @Test
  void checksSurviveGoAwaysAndTheStreamLimitExactly() throws Exception {
    Path limiterConfig = Files.createDirectories(dir.resolve("limiter"));
    Files.writeString(limiterConfig.resolve("plans.yaml"), """
        usage_plans:
          - id: quota
            throttle: {rate: 5000, burst: 5000}
            quota: {limit: %d, period: DAY}
            api_stages: [{api: petstore, stage: prod}]
        api_keys:
          - id: turnover
            value: %s
            plans: [quota]
        """.formatted(QUOTA, KEY));
    int grpc = Processes.freePort();
    int limiterHttp = Processes.freePort();
    limiter = new Processes.Proc("turnover-limiter", List.of("-jar",
        Processes.LIMITER_JAR.toString(), "--config", limiterConfig.toString(), "--grpc-port",
        Integer.toString(grpc), "--http-port", Integer.toString(limiterHttp), "--cluster-port",
        Integer.toString(Processes.freePort()), "--admin-token",
        "limiter-admin-token-0123456789", "--data-dir", dir.resolve("data").toString(),
        "--grpc-max-connection-age-seconds", "1", "--grpc-max-calls-per-connection", "2"));
    upstream = new TestUpstream(Processes.freePort());
    Path config = dir.resolve("adapter.yaml");
    Files.writeString(config, """
        api: petstore
        limiter: {failure_mode: fail_closed, deadline_ms: 10000}
        stages: [{name: prod}]
        routes:
          - route: GET /pets/{id}
            upstreams: [http://127.0.0.1:UP]
            api_key_required: true
        """.replace("UP", Integer.toString(upstream.port())));
    int port = Processes.freePort();
    int admin = Processes.freePort();
    limiter.awaitHealthy("http://127.0.0.1:" + limiterHttp + "/healthz", Duration.ofSeconds(90));
    adapter = Processes.adapter("turnover-adapter", config, port, admin, "127.0.0.1:" + grpc);
    adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));

    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    List<Future<List<String>>> clients = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      clients.add(pool.submit(() -> {
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < PER_CLIENT; i++) {
          HttpResponse<String> r = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
              "http://127.0.0.1:" + port + "/prod/pets/1")).header("x-api-key", KEY)
              .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
          boolean checked = r.headers().firstValue("x-ratelimit-limit").isPresent();
          answers.add(r.statusCode() + (checked ? " checked " : " ") + r.body());
          Thread.sleep(PAUSE_MILLIS);
        }
        return answers;
      }));
    }
    pool.shutdown();
    assertTrue(pool.awaitTermination(5, TimeUnit.MINUTES), "the clients did not finish");
    List<String> answers = new ArrayList<>();
    for (Future<List<String>> f : clients) {
      answers.addAll(f.get());
    }
    long allowed = 0;
    for (String a : answers) {
      if (a.startsWith("200 checked ")) {
        allowed++;
      } else {
        assertEquals("429 checked {\"message\":\"Limit Exceeded\"}", a,
            "not a decision; the other answers: " + answers.stream().filter(
                x -> !x.startsWith("200 checked ")).toList());
      }
    }
    assertEquals(QUOTA, allowed, "200s for a quota of " + QUOTA);

    // The connections did turn over: each event loop's, again after every GOAWAY.
    String metrics = Processes.HTTP.send(HttpRequest.newBuilder(URI.create(
        "http://127.0.0.1:" + admin + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    Matcher m = Pattern.compile("(?m)^gateway_limiter_connections_opened_total(?:\\{[^}]*\\})? "
        + "([0-9.E]+)$").matcher(metrics);
    assertTrue(m.find(), metrics);
    double opened = Double.parseDouble(m.group(1));
    assertTrue(opened >= 4, "only " + opened + " connections opened in a run of several "
        + "connection ages");
  }
}
