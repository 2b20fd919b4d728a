/**
 * The loaded rule model: domains, the descriptor tree and the limits on its nodes, matched in
 * memory with no I/O. Everything here is immutable once built; a reload builds a new
 * {@link io.tollgate.limiter.rule.RuleSet} and swaps the reference. Imports only
 * {@code algorithm}; knows nothing of YAML, Hazelcast or gRPC.
 */
package io.tollgate.limiter.rule;
