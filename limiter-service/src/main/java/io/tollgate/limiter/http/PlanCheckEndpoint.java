package io.tollgate.limiter.http;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.limiter.api.StatusMapping;
import io.tollgate.limiter.protocol.PlanCheck;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * {@code POST /v1/check}: the usage-plan check ({@link PlanCheck}), a {@code tollgate.v1}
 * {@code CheckRequest} in proto3 JSON answered with the {@code CheckResponse}: 200 allowed, 429
 * throttled or quota exceeded (with {@code Retry-After}), 403 forbidden, 400 for a bad request,
 * 503 when the counters cannot answer. Not to be confused with {@code /check}
 * ({@link CheckEndpoint}), which decides Envoy descriptors built from a gateway's headers.
 */
final class PlanCheckEndpoint implements Consumer<Exchange> {

  private static final long CHECK_TIMEOUT_MILLIS = 10_000;
  /** Checks in progress at most; past this many, 503. */
  private static final int MAX_CHECKS_IN_FLIGHT = 1_000;

  private final PlanCheck checks;
  private final Semaphore permits = new Semaphore(MAX_CHECKS_IN_FLIGHT);
  private final JsonFormat.Parser parser = JsonFormat.parser();
  private final JsonFormat.Printer printer =
      JsonFormat.printer().omittingInsignificantWhitespace().includingDefaultValueFields();

  PlanCheckEndpoint(PlanCheck checks) {
    this.checks = checks;
  }

  @Override
  public void accept(Exchange exchange) {
    if (!"POST".equals(exchange.method())) {
      exchange.responseHeaders().set("Allow", "POST");
      AdminEndpoints.error(exchange, 405, "method " + exchange.method() + " not allowed");
      return;
    }
    if (!permits.tryAcquire()) {
      AdminEndpoints.error(exchange, 503, "too many checks in progress");
      return;
    }
    CheckRequest request;
    try {
      CheckRequest.Builder builder = CheckRequest.newBuilder();
      String text = Utf8.decode(exchange.body(), "request body");
      parser.merge(text.isBlank() ? "{}" : text, builder);
      request = builder.build();
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      permits.release();
      AdminEndpoints.error(exchange, 400, "invalid JSON CheckRequest: " + e.getMessage());
      return;
    }
    // The answer is built on the connection's event loop, not on the grid's callback thread.
    checks.check(request).orTimeout(CHECK_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .whenCompleteAsync((response, failure) -> {
          permits.release();
          if (failure != null) {
            Throwable cause = StatusMapping.unwrap(failure);
            int status = cause instanceof java.util.concurrent.TimeoutException
                ? 503 : StatusMapping.httpStatus(cause);
            AdminEndpoints.error(exchange, status, StatusMapping.message(cause));
            return;
          }
          answer(exchange, response);
        }, exchange.eventLoop());
  }

  private void answer(Exchange exchange, CheckResponse response) {
    int status = switch (response.getReason()) {
      case ALLOWED -> 200;
      case FORBIDDEN -> 403;
      default -> 429;
    };
    if (!response.getAllowed() && response.hasRetryAfter()) {
      long s = response.getRetryAfter().getSeconds()
          + (response.getRetryAfter().getNanos() > 0 ? 1 : 0);
      exchange.responseHeaders().set("Retry-After", Long.toString(Math.max(1, s)));
    }
    try {
      exchange.respond(status, "application/json", printer.print(response) + "\n");
    } catch (InvalidProtocolBufferException e) {
      AdminEndpoints.error(exchange, 500, "cannot print the answer: " + e.getMessage());
    }
  }
}
