/**
 * Where limit state lives: the {@link io.tollgate.limiter.store.LimitStore} contract, an
 * in-memory implementation for tests and single-process use, and the
 * {@link io.tollgate.limiter.store.OverLimitCache} layer that answers keys over their limit
 * locally. The clustered implementation is in {@code grid}. Imports only {@code algorithm} (and
 * Caffeine, for the cache).
 */
package io.tollgate.limiter.store;
