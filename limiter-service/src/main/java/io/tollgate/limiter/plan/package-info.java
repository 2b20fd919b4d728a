/**
 * Usage plans and API keys: the model (plans, keys, the account and stage throttles), its
 * validation, and key generation and hashing. Immutable values; no grid, no network.
 */
package io.tollgate.limiter.plan;
