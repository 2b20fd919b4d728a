package io.tollgate.loadtest.target;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Plain HTTP (a gateway, a proxy, an upstream): {@code {key}} in the URL, headers and body is
 * replaced by the key index. 2xx is allowed, 429 denied, anything else an error.
 */
public final class HttpTarget implements Target {

  private final String url;
  private final String method;
  private final List<String[]> headers;
  private final String body;
  private final Duration timeout;
  private final ExecutorService executor;
  private final HttpClient client;

  public HttpTarget(String url, String method, List<String> headers, String body,
      long timeoutMillis) {
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
    client.sendAsync(request, HttpResponse.BodyHandlers.discarding())
        .whenComplete((response, error) -> {
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
        });
  }

  @Override
  public String describe() {
    return "http " + method + " " + url;
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
