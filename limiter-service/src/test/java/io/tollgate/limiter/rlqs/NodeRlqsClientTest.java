package io.tollgate.limiter.rlqs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.NodeClients;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wire compatibility from a second implementation: a Node.js client on {@code @grpc/grpc-js} and
 * {@code @grpc/proto-loader}, loading Envoy's RLQS .proto files, opens a stream and reads its
 * first assignment. The packages come from {@link NodeClients} (installed once per build);
 * without Node.js and npm the test is skipped, or fails under {@code CI=true}.
 */
class NodeRlqsClientTest {

  @TempDir
  Path dir;

  @Test
  void nodeGrpcJsClientGetsItsFirstAssignment() throws Exception {
    NodeClients node = NodeClients.get();
    Path script;
    try (InputStream in = getClass().getResourceAsStream("/rlqs/rlqs-client.js")) {
      script = node.script("rlqs-client.js", in);
    }
    Path config = dir.resolve("rules.yaml");
    Files.writeString(config, """
        domain: node
        descriptors:
          - key: tenant
            rate_limit: {unit: second, requests_per_unit: 40}
        """);
    try (InJvmLimiter limiter = InJvmLimiter.start(config, new FakeClock())) {
      NodeClients.Result run = node.run(60, script, node.protos().toString(),
          "127.0.0.1:" + limiter.grpcPort(), "node", "tenant=acme");
      assertEquals(0, run.code(), run.output());
      String json = run.output().strip();
      // proto-loader keeps field names as in the .proto file (keepCase).
      assertTrue(json.contains("\"bucket_action\":[{\"bucket_id\":{\"bucket\":{\"tenant\":\"acme\"}}"),
          json);
      assertTrue(json.contains("\"quota_assignment_action\""), json);
      assertTrue(json.contains("\"assignment_time_to_live\":{\"seconds\":\"3\""), json);
      // 3 a second reported, 40 a second limit: want 4 (25% headroom) -> bucket 1, refill 3.
      assertTrue(json.contains("\"token_bucket\":{\"max_tokens\":1,\"tokens_per_fill\":{\"value\":3}"),
          json);
    }
  }
}
