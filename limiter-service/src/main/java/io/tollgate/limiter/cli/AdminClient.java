package io.tollgate.limiter.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One limiter's HTTP admin API: sends proto3 JSON, returns the answer's body, and turns error
 * answers ({@code {"error": "..."}}) and unreachable servers into {@link CommandFailure}s.
 */
final class AdminClient {

  /** Generous for an admin call: the server answers a check within 10 s or gives up. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private static final JsonFormat.Printer PRINTER = JsonFormat.printer();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  /** An answer: its HTTP status and body. */
  record Reply(int status, String body) {}

  private final HttpClient http;
  private final String baseUrl;
  private final String token;

  /**
   * @param http the client
   * @param baseUrl e.g. {@code http://127.0.0.1:8080}; a trailing slash is ignored
   * @param token the admin bearer token, or {@code null} to send none
   */
  AdminClient(HttpClient http, String baseUrl, String token) {
    this.http = http;
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.token = token;
  }

  /**
   * Sends a request and returns the body of a 2xx answer.
   *
   * @param method GET, POST, PUT, PATCH or DELETE
   * @param path the path and query, starting with '/'
   * @param body the request body, or {@code null} for none
   * @throws CommandFailure for an answer outside 2xx, or when the server cannot be reached
   */
  String call(String method, String path, MessageOrBuilder body) throws CommandFailure {
    Reply reply = send(method, path, body);
    if (reply.status() / 100 != 2) {
      throw failure(reply);
    }
    return reply.body();
  }

  /**
   * Sends a request and returns whatever the server answered.
   *
   * @throws CommandFailure when the server cannot be reached
   */
  Reply send(String method, String path, MessageOrBuilder body) throws CommandFailure {
    URI uri;
    try {
      uri = URI.create(baseUrl + path);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure("bad --url '" + baseUrl + "': " + e.getMessage());
    }
    HttpRequest.Builder request;
    try {
      request = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure("bad --url '" + baseUrl + "': " + e.getMessage());
    }
    request.header("Accept", "application/json");
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    if (body == null) {
      request.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      request.header("Content-Type", "application/json");
      request.method(method, HttpRequest.BodyPublishers.ofString(print(body)));
    }
    try {
      HttpResponse<String> response = http.send(request.build(),
          HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return new Reply(response.statusCode(), response.body());
    } catch (HttpTimeoutException e) {
      throw new CommandFailure("no answer from " + baseUrl + " within "
          + REQUEST_TIMEOUT.toSeconds() + " s");
    } catch (IOException e) {
      throw new CommandFailure("cannot reach " + baseUrl + ": " + reason(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailure("interrupted");
    }
  }

  /** The failure for an error answer: the server's {@code error} text and the status. */
  static CommandFailure failure(Reply reply) {
    String message = null;
    try {
      Struct.Builder s = Struct.newBuilder();
      PARSER.merge(reply.body(), s);
      Value error = s.getFieldsMap().get("error");
      if (error != null && error.hasStringValue()) {
        message = error.getStringValue();
      }
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      // Not JSON (a proxy's page, say): the text itself is the best explanation.
    }
    if (message == null) {
      message = reply.body().isBlank() ? "no explanation given" : reply.body().strip();
    }
    return new CommandFailure(message + " (HTTP " + reply.status() + ")", reply.status());
  }

  /** Parses a JSON answer into {@code builder}, ignoring fields this client does not know. */
  @SuppressWarnings("unchecked")
  static <T extends Message> T parse(String json, Message.Builder builder) throws CommandFailure {
    try {
      PARSER.merge(json, builder);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw new CommandFailure("unexpected answer, not a "
          + builder.getDescriptorForType().getName() + ": " + e.getMessage());
    }
    return (T) builder.build();
  }

  /** The compact proto3 JSON of a request body (fields at their defaults left out). */
  static String print(MessageOrBuilder message) {
    try {
      return PRINTER.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + message.getClass().getName(), e);
    }
  }

  /** A path segment or query value, percent-encoded. */
  static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** The first non-empty message down the cause chain ("Connection refused"). */
  private static String reason(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return t.getMessage();
      }
    }
    // The JDK's client reports a refused connection as a ConnectException with no message.
    return e instanceof java.net.ConnectException ? "connection refused"
        : e.getClass().getSimpleName();
  }
}
