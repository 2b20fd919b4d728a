package io.tollgate.limiter.cluster;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.AdvancedNetworkConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.ServerSocketEndpointConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.grid.GridConfig;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Builds and starts the embedded member. With no members listed it runs alone and looks for no
 * one; with a list it joins over TCP/IP to exactly those addresses (no multicast, no discovery,
 * no phone-home), so nothing leaves the configured network.
 */
public final class GridMember {

  private static final Logger LOG = Logger.getLogger(GridMember.class.getName());

  private GridMember() {}

  /** Separates a cluster's name from the proof of its secret in the name members join by. */
  static final String SECRET_MARK = "#hmac-sha256:";

  /**
   * The name members join by. Hazelcast's community edition has no member authentication; the
   * one thing a joining member must match is the cluster name. With a shared secret, that name
   * carries an HMAC of the cluster's name under the secret, so only a member that holds the
   * secret can produce it. It travels in clear on the cluster network, so it keeps out members
   * that cannot see that network's traffic, not an eavesdropper (see docs/clustering.md).
   *
   * @param clusterName the configured name
   * @param secret the shared secret, or empty for none
   */
  public static String joinName(String clusterName, String secret) {
    if (secret.isEmpty()) {
      return clusterName;
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] proof = mac.doFinal(("tollgate cluster " + clusterName)
          .getBytes(StandardCharsets.UTF_8));
      return clusterName + SECRET_MARK + Base64.getUrlEncoder().withoutPadding()
          .encodeToString(proof);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  /** The cluster's name for logs: without the proof of the secret, which lets a member join. */
  static String displayName(String joinName) {
    int mark = joinName.lastIndexOf(SECRET_MARK);
    return mark < 0 ? joinName : joinName.substring(0, mark) + " (with shared secret)";
  }

  /**
   * The member's configuration.
   *
   * @param clusterName members only join others of the same name (see {@link #joinName})
   * @param bindAddress the interface to listen on; {@code 0.0.0.0} for all
   * @param port the cluster port; not incremented if taken
   * @param members {@code host:port} of the other members; empty to run alone
   * @param clock the clock that limit decisions on this member read
   */
  public static Config config(String clusterName, String bindAddress, int port,
      List<String> members, WallClock clock) {
    Config config = new Config();
    config.setClusterName(clusterName);
    config.setInstanceName("tollgate-" + port);
    config.setProperty("hazelcast.phone.home.enabled", "false");
    // The server shuts the member down itself, after gRPC has drained.
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    config.setProperty("hazelcast.logging.type", "jdk");
    if (clusterName.contains(SECRET_MARK)) {
      // Hazelcast starts each log line with the cluster name, which here proves the secret.
      config.setProperty("hazelcast.logging.details.enabled", "false");
    }
    // A decision waits on the grid; fail a call after 5 s (default 60 s) so a stuck partition
    // turns into UNAVAILABLE rather than a pile of waiting calls.
    config.setProperty("hazelcast.operation.call.timeout.millis", "5000");
    // A change whose backup did not acknowledge in time is answered with the primary's result:
    // the owner has applied it, so the answer never admits too much, while failing it would
    // answer UNAVAILABLE, which Envoy treats as "allow". Such answers are counted (see
    // unacknowledgedBackups). The backup timeout (default 5 s) bounds how long a call waits for
    // the acknowledgement of a backup on a member that just crashed.
    config.setProperty("hazelcast.operation.fail.on.indeterminate.state", "false");
    config.setProperty("hazelcast.operation.backup.timeout.millis", "1500");
    // Members listed up front join quickly; the default waits 5 s before forming the cluster.
    config.setProperty("hazelcast.wait.seconds.before.join", "1");
    // A call that reaches a partition while it migrates (a member joined or left) is retried by
    // Hazelcast: five times at once, then after this pause each time (default 500 ms). Moving
    // one partition of small per-key counters takes milliseconds, so the default pause was
    // most of the wait: measured with a member joining under load, every caller ended up
    // behind some migrating partition and no call was answered for 1.9 s. The retries stay
    // bounded (hazelcast.invocation.max.retry.count, 250).
    config.setProperty("hazelcast.invocation.retry.pause.millis", "50");
    config.setProperty("hazelcast.graceful.shutdown.max.wait", "60");
    // Failure detection: a crashed member's partitions cannot answer until it is declared dead
    // and its backups promoted. Heartbeat every second and give up after 10 s (defaults 5 s and
    // 60 s), so a crash costs seconds of UNAVAILABLE for that member's keys, not a minute.
    config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    config.setProperty("hazelcast.max.no.heartbeat.seconds", "10");

    // The advanced network config with only a member endpoint: the port speaks the member
    // protocol and nothing else, so Hazelcast clients (which could read or clear the counters
    // without authentication in the community edition) cannot connect.
    AdvancedNetworkConfig network = config.getAdvancedNetworkConfig().setEnabled(true);
    ServerSocketEndpointConfig endpoint = new ServerSocketEndpointConfig();
    endpoint.setPort(port).setPortAutoIncrement(false);
    if (!"0.0.0.0".equals(bindAddress)) {
      config.setProperty("hazelcast.socket.bind.any", "false");
      endpoint.getInterfaces().setEnabled(true).addInterface(bindAddress);
    }
    network.setMemberEndpointConfig(endpoint);
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(!members.isEmpty());
    for (String member : members) {
      join.getTcpIpConfig().addMember(member);
    }
    GridConfig.configure(config, clock);
    return config;
  }

  /**
   * Switches a member's joining from the member list to Hazelcast's built-in Kubernetes discovery
   * in DNS lookup mode: the members are the addresses of a headless Service (which must publish
   * not-ready addresses, since a member is ready only once it has joined), each on
   * {@code port}. DNS mode needs no access to the Kubernetes API, so no RBAC.
   *
   * @param serviceDns e.g. {@code tollgate-cluster.tollgate.svc.cluster.local}
   * @param port the cluster port every member listens on
   */
  public static void discoverOnKubernetes(Config config, String serviceDns, int port) {
    JoinConfig join = config.getAdvancedNetworkConfig().getJoin();
    join.getTcpIpConfig().setEnabled(false);
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getKubernetesConfig().setEnabled(true)
        .setProperty("service-dns", serviceDns)
        .setProperty("service-port", Integer.toString(port));
  }

  /**
   * Operations of this member whose backups did not all acknowledge within the backup timeout,
   * answered with the primary's result; read from the member's own invocation statistics.
   * Always 0 for a member that is not Hazelcast's own implementation.
   */
  public static java.util.function.LongSupplier unacknowledgedBackups(HazelcastInstance member) {
    if (member instanceof com.hazelcast.instance.impl.HazelcastInstanceProxy proxy) {
      com.hazelcast.internal.metrics.LongGauge gauge = proxy.getOriginal().node.getNodeEngine()
          .getMetricsRegistry().newLongGauge("operation.invocations.backupTimeouts");
      return gauge::read;
    }
    return () -> 0;
  }

  /** Starts a member and logs membership changes. */
  public static HazelcastInstance start(Config config) {
    HazelcastInstance member = Hazelcast.newHazelcastInstance(config);
    // Arrange the partition table now rather than on the first decision.
    member.getPartitionService().getPartitions().iterator().next().getOwner();
    member.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        LOG.info("member joined: " + event.getMember().getAddress() + " (members: "
            + event.getMembers().size() + ")");
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        LOG.log(Level.WARNING, "member left: " + event.getMember().getAddress() + " (members: "
            + event.getMembers().size() + ")");
      }
    });
    LOG.info("cluster '" + displayName(config.getClusterName()) + "' member " + member.getCluster()
        .getLocalMember().getAddress() + " started; members: " + member.getCluster().getMembers()
        .size());
    return member;
  }
}
