/**
 * Tracing of decisions through the OpenTelemetry API. Off unless the OpenTelemetry Java agent is
 * attached ({@code -javaagent:opentelemetry-javaagent.jar}): the API alone records nothing, so a
 * decision then pays a no-op span (one small object) and one check of whether it records, and
 * attaches no callback. Imports no grid, gRPC or HTTP code.
 */
package io.tollgate.limiter.tracing;
