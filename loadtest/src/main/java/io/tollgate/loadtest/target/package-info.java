/** The systems a load run drives: Envoy's RLS, Tollgate's check API, plain HTTP. */
package io.tollgate.loadtest.target;
