/**
 * Persistence of usage plans, API keys and quota counters in a SQL database: an embedded H2 file
 * by default, or PostgreSQL. Plain JDBC over a small connection pool; the schema is created and
 * upgraded with Flyway by {@link io.tollgate.limiter.persist.SchemaMigrations} from the SQL files
 * in {@code db/migration}.
 *
 * <p>The repositories are called by the grid's MapStore adapters, on partition threads and on the
 * write-behind thread: every method is one short transaction. Imports {@code plan} and
 * {@code algorithm} of Tollgate, JDBC, HikariCP, Flyway and H2 (for its bind address and error
 * codes); never Hazelcast or gRPC.
 */
package io.tollgate.limiter.persist;
