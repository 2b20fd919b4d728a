/**
 * Where limit state lives: the {@link io.tollgate.limiter.store.LimitStore} contract, and an
 * in-memory implementation for tests and single-process use. The clustered implementation is in
 * {@code grid}. Imports only {@code algorithm}.
 */
package io.tollgate.limiter.store;
