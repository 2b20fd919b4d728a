/**
 * The HTTP port: health ({@code /healthz}, {@code /healthcheck}), Prometheus {@code /metrics},
 * and {@code POST /json}, the JSON form of Envoy's rate-limit call. Built on the JDK's HTTP
 * server; none of it is on Envoy's gRPC path.
 */
package io.tollgate.limiter.http;
