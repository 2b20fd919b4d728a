/**
 * Limit state in a Hazelcast map. The only package that touches the grid's data API: entry
 * processors that run the {@code algorithm} math on the key's owner partition, the backup
 * processors that copy their result, serializers, and the map configuration.
 *
 * <p>Every change to a counter happens inside an entry processor on the owner's partition thread:
 * one hop, atomic, no locks. The time is read there, from the member's clock.
 */
package io.tollgate.limiter.grid;
