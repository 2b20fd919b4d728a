package io.tollgate.loadtest.target;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Plain HTTP (a gateway, a proxy, an upstream): {@code {key}} in the URL, headers and body is
 * replaced by the key index. 2xx is allowed, 429 denied, anything else an error.
 *
 * <p>At most {@code connections} requests are on the wire at once; the others wait here, in order,
 * for one to finish. The JDK client opens a new connection for every request that finds no idle
 * one, so an open-loop run that fell behind (a slow first second is enough) opened thousands: nginx
 * ran out of {@code worker_connections}, closed connections under the client and every later call
 * failed with an IOException. Bounded, the client reuses its connections as a real proxy pool would;
 * a request that waits here keeps its intended send time, so the wait counts as latency.
 */
public final class HttpTarget implements Target {

  private final String url;
  private final String method;
  private final List<String[]> headers;
  private final String body;
  private final Duration timeout;
  private final ExecutorService executor;
  private final HttpClient client;
  private final int connections;
  /** Requests on the wire, at most {@link #connections}. */
  private final AtomicInteger active = new AtomicInteger();
  private final ConcurrentLinkedQueue<Runnable> waiting = new ConcurrentLinkedQueue<>();

  /**
   * @param connections requests (so connections) open at once; later ones wait for a free one
   */
  public HttpTarget(String url, String method, List<String> headers, String body,
      long timeoutMillis, int connections) {
    if (connections <= 0) {
      throw new IllegalArgumentException("connections must be > 0, was " + connections);
    }
    this.connections = connections;
    this.url = url;
    this.method = method;
    this.headers = headers.stream().map(h -> {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--header: '" + h + "' is not 'Name: value'");
      }
      return new String[] {h.substring(0, colon).trim(), h.substring(colon + 1).trim()};
    }).toList();
    this.body = body;
    this.timeout = Duration.ofMillis(timeoutMillis);
    this.executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "loadtest-http");
      t.setDaemon(true);
      return t;
    });
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(timeout).executor(executor).build();
  }

  private static String fill(String s, int key) {
    return s.indexOf('{') < 0 ? s : s.replace("{key}", Integer.toString(key));
  }

  @Override
  public void send(int[] keys, Callback callback) {
    int key = keys.length == 0 ? 0 : keys[0];
    HttpRequest request;
    try {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fill(url, key))).timeout(timeout)
          .method(method, body.isEmpty() ? HttpRequest.BodyPublishers.noBody()
              : HttpRequest.BodyPublishers.ofString(fill(body, key)));
      for (String[] h : headers) {
        b.header(h[0], fill(h[1], key));
      }
      request = b.build();
    } catch (RuntimeException e) {
      callback.done(Outcome.ERROR, "bad request: " + e.getMessage());
      return;
    }
    waiting.add(() -> client.sendAsync(request, HttpResponse.BodyHandlers.discarding())
        .whenComplete((response, error) -> {
          active.decrementAndGet();
          dispatch();
          if (error != null) {
            Throwable cause = error.getCause() != null ? error.getCause() : error;
            callback.done(Outcome.ERROR, cause.getClass().getSimpleName());
          } else if (response.statusCode() / 100 == 2) {
            callback.done(Outcome.ALLOWED, null);
          } else if (response.statusCode() == 429) {
            callback.done(Outcome.DENIED, null);
          } else {
            callback.done(Outcome.ERROR, "HTTP " + response.statusCode());
          }
        }));
    dispatch();
  }

  /** Starts waiting requests while fewer than {@link #connections} are on the wire. */
  private void dispatch() {
    while (!waiting.isEmpty()) {
      int a = active.get();
      if (a >= connections) {
        return;
      }
      if (!active.compareAndSet(a, a + 1)) {
        continue;
      }
      Runnable next = waiting.poll();
      if (next == null) {
        active.decrementAndGet();
        continue;
      }
      next.run();
    }
  }

  /** Requests waiting for a connection (for tests). */
  int waiting() {
    return waiting.size();
  }

  @Override
  public String describe() {
    return "http " + method + " " + url + " (" + connections + " connections)";
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
