/**
 * The HTTP port: health ({@code /healthz}, {@code /healthcheck}), Prometheus {@code /metrics},
 * {@code POST /json} (the JSON form of Envoy's rate-limit call), {@code /check}, {@code /v1/check}
 * and the admin API. Served by Netty ({@link io.tollgate.limiter.http.HttpPort}); none of it is on
 * Envoy's gRPC path.
 */
package io.tollgate.limiter.http;
