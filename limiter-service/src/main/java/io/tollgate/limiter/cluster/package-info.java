/**
 * Starting this process's Hazelcast member: network, join, the grid's configuration, and the
 * membership events and health gauges that feed logs and metrics.
 */
package io.tollgate.limiter.cluster;
