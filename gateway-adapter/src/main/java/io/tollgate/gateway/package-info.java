/**
 * The gateway adapter: an HTTP reverse proxy that asks the limiter ({@code
 * tollgate.v1.CheckService/Check}) about every request, then answers from a per-stage cache or
 * forwards to the route's upstreams.
 *
 * <p>{@link io.tollgate.gateway.GatewayServer} wires everything; {@link
 * io.tollgate.gateway.ProxyService} holds the order of work for a request; {@link
 * io.tollgate.gateway.DecisionClient} is the only class that talks to the limiter and holds the
 * fail-open/fail-closed policy and the circuit breaker. Configuration is immutable ({@link
 * io.tollgate.gateway.GatewayConfig}) and swapped whole on reload.
 */
package io.tollgate.gateway;
