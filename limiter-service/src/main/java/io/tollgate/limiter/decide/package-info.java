/**
 * The decision core every protocol uses: match a request's descriptors against the rules
 * ({@link io.tollgate.limiter.decide.RuleMatches}), name each counter
 * ({@link io.tollgate.limiter.decide.LimitKeys}, the one key scheme for rule and plan levels),
 * acquire every limit at once and hand the units back on a denial, and record each decision in
 * its rule's meters ({@link io.tollgate.limiter.decide.Evaluation}). Envoy RLS, the plan check,
 * RLQS usage reports ({@link io.tollgate.limiter.decide.UsageReport}) and the operator's counter
 * reads and resets ({@link io.tollgate.limiter.decide.Counters}) go through it; they only map
 * their protocol's messages in and out.
 *
 * <p>Imports {@code rule}, {@code algorithm}, {@code store} and {@code metrics}; no protocol's
 * messages, no transport, no Hazelcast.
 */
package io.tollgate.limiter.decide;
