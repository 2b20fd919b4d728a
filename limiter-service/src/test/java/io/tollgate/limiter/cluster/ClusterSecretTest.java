package io.tollgate.limiter.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code --cluster-secret-file}: only members that hold the shared secret form a cluster. */
class ClusterSecretTest {

  private static final String SECRET = "correct horse battery staple";

  @Test
  void theJoinNameProvesTheSecretWithoutShowingIt() {
    String name = GridMember.joinName("edge", SECRET);
    assertEquals(name, GridMember.joinName("edge", SECRET), "the same secret, the same name");
    assertNotEquals(name, GridMember.joinName("edge", SECRET + "!"));
    assertNotEquals(name, GridMember.joinName("core", SECRET));
    assertFalse(name.contains(SECRET));
    assertEquals("edge", GridMember.joinName("edge", ""), "no secret: the plain name");
    assertEquals("edge (with shared secret)", GridMember.displayName(name));
    assertEquals("edge", GridMember.displayName("edge"));
  }

  @Test
  @Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aMemberWithoutTheSecretDoesNotJoin(@TempDir Path dir) throws Exception {
    Path rules = dir.resolve("rules.yaml");
    Files.writeString(rules, """
        domain: secret
        descriptors:
          - key: k
            rate_limit: {requests_per_unit: 10, unit: minute}
        """);
    Path secret = dir.resolve("secret");
    Files.writeString(secret, SECRET + "\n");
    Path other = dir.resolve("other-secret");
    Files.writeString(other, "a different secret of enough length\n");
    int portA = FreePorts.next();
    int portB = FreePorts.next();
    int portC = FreePorts.next();
    String members = "127.0.0.1:" + portA + ",127.0.0.1:" + portB + ",127.0.0.1:" + portC;
    String name = "secret-" + UUID.randomUUID();
    List<LimiterProcess> started = new ArrayList<>();
    try {
      // The stranger starts first, so it is already asking to join when the others come up.
      LimiterProcess stranger = LimiterProcess.start("stranger", rules, portC, "--members",
          members, "--cluster-name", name, "--cluster-secret-file", other.toString());
      started.add(stranger);
      stranger.awaitReady(Duration.ofSeconds(90));
      LimiterProcess a = LimiterProcess.start("holder-a", rules, portA, "--members", members,
          "--cluster-name", name, "--cluster-secret-file", secret.toString());
      started.add(a);
      LimiterProcess b = LimiterProcess.start("holder-b", rules, portB, "--members", members,
          "--cluster-name", name, "--cluster-secret-file", secret.toString());
      started.add(b);
      a.awaitReady(Duration.ofSeconds(90));
      b.awaitReady(Duration.ofSeconds(90));
      Awaits.await("the two holders in one cluster", Duration.ofSeconds(60),
          () -> members(a) == 2 && members(b) == 2);
      // Joining is retried every few seconds; give the stranger several rounds.
      long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (System.nanoTime() < until) {
        assertEquals(2, members(a), "a member without the secret joined");
        assertEquals(1, members(stranger), "the stranger found a cluster");
        Thread.sleep(500);
      }
      // Neither the stranger nor anyone reading a log learns a name that would let them in.
      String proof = GridMember.joinName(name, SECRET);
      proof = proof.substring(proof.lastIndexOf('#'));
      for (LimiterProcess p : started) {
        assertFalse(p.log().contains(proof), "a log shows the proof of the secret: " + p.log());
      }
      assertTrue(a.log().contains("(with shared secret)"), a.log());
    } finally {
      for (LimiterProcess p : started) {
        p.close();
      }
    }
  }

  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aShortSecretIsRefusedAtStart(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("secret");
    Files.writeString(file, "too short\n");
    Path rules = Path.of(ClusterSecretTest.class.getResource("/service/rules.yaml").toURI());
    List<String> args = new ArrayList<>(List.of("--config", rules.toString(), "--grpc-port",
        "0", "--http-port", "0", "--cluster-port", Integer.toString(FreePorts.next()),
        "--cluster-secret-file", file.toString()));
    args.addAll(LimiterProcess.dataDirUnlessGiven("short-secret"));
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(60),
        args.toArray(String[]::new));
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("--cluster-secret-file: " + file
        + " must hold at least 16 characters"), r.output());
  }

  private static int members(LimiterProcess p) {
    String body = p.httpGet("/metrics").body();
    int at = body.indexOf("\nratelimit_cluster_members ");
    if (at < 0) {
      return -1;
    }
    int start = at + "\nratelimit_cluster_members ".length();
    return (int) Double.parseDouble(body.substring(start, body.indexOf('\n', start)));
  }
}
