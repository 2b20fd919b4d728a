package io.tollgate.limiter.tracing;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * One span per decision, child of the caller's span when the caller propagated one (Envoy passes
 * its trace context in the gRPC metadata of the rate-limit call; the agent's gRPC and HTTP
 * instrumentation makes it current).
 *
 * <p>A span carries the domain or API stage (both fixed by the gateway's configuration), the number
 * of descriptors and the outcome; never a descriptor value or API key, which would leak into the
 * trace store and give it unbounded attribute values.
 */
public final class DecisionTracing {

  /** The instrumentation scope name spans are recorded under. */
  public static final String SCOPE = "io.tollgate.limiter";

  private final Tracer tracer;

  /** Tracing through {@code openTelemetry}. */
  public DecisionTracing(OpenTelemetry openTelemetry) {
    this.tracer = Objects.requireNonNull(openTelemetry, "openTelemetry").getTracer(SCOPE);
  }

  /**
   * Tracing through the process-wide OpenTelemetry: the agent's when it is attached, otherwise a
   * no-op.
   */
  public static DecisionTracing fromGlobal() {
    return new DecisionTracing(GlobalOpenTelemetry.get());
  }

  /** Starts a span named {@code name} under the current context; invalid when nothing records. */
  public Span start(String name) {
    return tracer.spanBuilder(name).startSpan();
  }

  /**
   * Ends {@code span} when {@code answer} completes, after {@code describe} has added the outcome;
   * a failure is recorded as the span's error. Returns {@code answer} itself: callers see no
   * extra stage.
   */
  public static <T> CompletableFuture<T> endWith(Span span, CompletableFuture<T> answer,
      BiConsumer<Span, T> describe) {
    if (!span.isRecording()) {
      span.end();
      return answer;
    }
    answer.whenComplete((result, failure) -> {
      if (failure != null) {
        span.setStatus(StatusCode.ERROR, failure.getClass().getSimpleName());
        span.recordException(failure);
      } else {
        describe.accept(span, result);
      }
      span.end();
    });
    return answer;
  }
}
