package io.tollgate.limiter.http;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One HTTP request, read in full (its body is at most {@link HttpPort#MAX_BODY_BYTES}), and the
 * way to answer it. A handler answers exactly once, from any thread; later answers are ignored.
 * Nothing here blocks: the answer is handed to the connection's event loop, which writes answers
 * in the order the requests came.
 */
public final class Exchange {

  /** Where an answer goes; implemented by the connection. */
  interface Sink {
    void send(Exchange exchange, int status, HttpHeaders headers, byte[] body);
  }

  private final String method;
  private final String path;
  private final String rawQuery;
  private final HttpHeaders requestHeaders;
  private final byte[] body;
  private final Executor eventLoop;
  private final Sink sink;
  private final HttpHeaders responseHeaders = new DefaultHttpHeaders();
  private final AtomicBoolean answered = new AtomicBoolean();

  Exchange(String method, String uri, HttpHeaders requestHeaders, byte[] body, Executor eventLoop,
      Sink sink) {
    this.method = method;
    int q = uri.indexOf('?');
    this.path = q < 0 ? uri : uri.substring(0, q);
    this.rawQuery = q < 0 ? null : uri.substring(q + 1);
    this.requestHeaders = requestHeaders;
    this.body = body;
    this.eventLoop = eventLoop;
    this.sink = sink;
  }

  /** The request method, e.g. {@code GET}. */
  public String method() {
    return method;
  }

  /** The raw (still percent-encoded) path, without the query. */
  public String path() {
    return path;
  }

  /** The raw query string after {@code ?}, or {@code null} when there is none. */
  public String rawQuery() {
    return rawQuery;
  }

  /** The first value of a request header (case-insensitive), or {@code null}. */
  public String header(String name) {
    return requestHeaders.get(name);
  }

  /** Every line of a request header joined with {@code ,}, or {@code null} when absent. */
  public String joinedHeader(String name) {
    List<String> values = requestHeaders.getAll(name);
    return values.isEmpty() ? null : String.join(",", values);
  }

  /** The request body; empty when there is none. */
  public byte[] body() {
    return body;
  }

  /** The headers of the answer, to add to before {@link #respond}. */
  public HttpHeaders responseHeaders() {
    return responseHeaders;
  }

  /**
   * The connection's event loop: run short completions here (never anything that blocks) so an
   * answer needs no further hand-off.
   */
  public Executor eventLoop() {
    return eventLoop;
  }

  /** Answers with a UTF-8 text body of the given content type; a second answer is ignored. */
  public void respond(int status, String contentType, String text) {
    respond(status, contentType, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Answers with a body of the given content type; a second answer is ignored. */
  public void respond(int status, String contentType, byte[] bytes) {
    if (!answered.compareAndSet(false, true)) {
      return;
    }
    responseHeaders.set("Content-Type", contentType);
    sink.send(this, status, responseHeaders, "HEAD".equals(method) ? new byte[0] : bytes);
  }

  /** Whether an answer was given. */
  public boolean answered() {
    return answered.get();
  }
}
