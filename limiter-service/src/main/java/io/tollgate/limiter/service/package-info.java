/**
 * Usage plans and API keys as the operator manages them, free of any protocol's messages: the
 * {@link io.tollgate.limiter.service.Catalog} every member reads plans and keys from, the admin
 * operations on them ({@link io.tollgate.limiter.service.PlanAdmin}), the decision settings
 * ({@link io.tollgate.limiter.service.ServiceOptions}) and the errors a bad request raises.
 * Knows nothing of gRPC, HTTP or Hazelcast.
 */
package io.tollgate.limiter.service;
