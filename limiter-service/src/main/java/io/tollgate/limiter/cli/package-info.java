/**
 * The admin command line: {@code java -jar limiter-service.jar <command> ...} (or {@code
 * bin/tollgate}) manages usage plans and API keys, reads usage and runs checks against a running
 * limiter's HTTP admin API. Talks JSON through protobuf's {@code JsonFormat} into the {@code
 * tollgate.v1} messages; imports nothing of the server's own packages, so it is a plain HTTP
 * client of whatever limiter it is pointed at.
 */
package io.tollgate.limiter.cli;
