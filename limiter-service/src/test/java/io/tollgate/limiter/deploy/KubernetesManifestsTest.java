package io.tollgate.limiter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.Settings;
import io.tollgate.limiter.config.ConfigLoader;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.LimiterProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * deploy/k8s and deploy/docker against the code: every flag, variable, port and path the
 * manifests and Dockerfiles use exists, the rules in the ConfigMap load, the pieces refer to each
 * other consistently, and a limiter starts with the manifest's discovery flags.
 */
class KubernetesManifestsTest {

  private static final List<Map<String, Object>> DOCS = new ArrayList<>();

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o) {
    return (List<Object>) o;
  }

  @BeforeAll
  static void load() throws Exception {
    try (Stream<Path> files = Files.list(Deploy.path("k8s"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        for (Object doc : new Yaml().loadAll(Files.readString(f))) {
          if (doc != null) {
            DOCS.add(map(doc));
          }
        }
      }
    }
  }

  private static Map<String, Object> only(String kind, String name) {
    List<Map<String, Object>> found = new ArrayList<>();
    for (Map<String, Object> d : DOCS) {
      if (kind.equals(d.get("kind")) && (name == null
          || name.equals(map(d.get("metadata")).get("name")))) {
        found.add(d);
      }
    }
    assertEquals(1, found.size(), kind + " " + name);
    return found.get(0);
  }

  private static Map<String, Object> container() {
    Map<String, Object> pod = map(map(only("StatefulSet", "tollgate").get("spec")).get("template"));
    return map(list(map(pod.get("spec")).get("containers")).get(0));
  }

  private static List<String> args() {
    List<String> args = new ArrayList<>();
    for (Object a : list(container().get("args"))) {
      args.add((String) a);
    }
    return args;
  }

  private static ParseResult parsedArgs() {
    return new CommandLine(new Settings()).parseArgs(args().toArray(String[]::new));
  }

  private static Map<String, Integer> containerPorts() {
    Map<String, Integer> ports = new HashMap<>();
    for (Object p : list(container().get("ports"))) {
      ports.put((String) map(p).get("name"), (Integer) map(p).get("containerPort"));
    }
    return ports;
  }

  @Test
  void everyKustomizationResourceExistsAndEveryManifestIsListed() throws Exception {
    List<Object> resources = list(only("Kustomization", null).get("resources"));
    try (Stream<Path> files = Files.list(Deploy.path("k8s"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        String name = f.getFileName().toString();
        assertTrue(name.equals("kustomization.yaml") || resources.contains(name),
            name + " is not in kustomization.yaml");
      }
    }
    for (Object r : resources) {
      assertTrue(Files.isRegularFile(Deploy.path("k8s/" + r)), "missing " + r);
    }
  }

  @Test
  void everyFlagAndVariableExistsAndParses() {
    ParseResult parsed = parsedArgs();
    assertEquals("kubernetes", parsed.matchedOptionValue("--discovery", ""));
    assertEquals("0.0.0.0", parsed.matchedOptionValue("--bind", ""));
    for (Object e : list(container().get("env"))) {
      String name = (String) map(e).get("name");
      if (name.equals("JAVA_TOOL_OPTIONS")) {
        continue;
      }
      boolean known = false;
      for (java.lang.reflect.Field f : Settings.class.getDeclaredFields()) {
        CommandLine.Option o = f.getAnnotation(CommandLine.Option.class);
        known |= o != null && (o.defaultValue().equals("${env:" + name + "}")
            || o.defaultValue().startsWith("${env:" + name + ":"));
      }
      assertTrue(known, "no flag reads the variable " + name);
    }
  }

  @Test
  void containerPortsAreTheFlagsPorts() {
    ParseResult parsed = parsedArgs();
    Map<String, Integer> ports = containerPorts();
    assertEquals(Map.of("grpc", parsed.matchedOptionValue("--grpc-port", -1),
        "http", parsed.matchedOptionValue("--http-port", -1),
        "cluster", parsed.matchedOptionValue("--cluster-port", -1)), ports);
    // And the defaults, which the Dockerfile's EXPOSE and envoy.yaml rely on.
    assertEquals(Map.of("grpc", 8081, "http", 8080, "cluster", 5701), ports);
  }

  @Test
  void servicesTargetNamedContainerPortsAndSelectThePods() {
    Map<String, Integer> ports = containerPorts();
    Map<String, Object> sts = map(only("StatefulSet", "tollgate").get("spec"));
    Map<String, Object> podLabels = map(map(map(sts.get("template")).get("metadata"))
        .get("labels"));
    for (String name : new String[] {"tollgate", "tollgate-cluster"}) {
      Map<String, Object> spec = map(only("Service", name).get("spec"));
      assertTrue(podLabels.entrySet().containsAll(map(spec.get("selector")).entrySet()), name);
      for (Object p : list(spec.get("ports"))) {
        Object target = map(p).get("targetPort");
        assertTrue(ports.containsKey(target), name + " targets unknown port " + target);
        assertEquals(ports.get(target), map(p).get("port"), name + " port " + target);
      }
    }
    Map<String, Object> headless = map(only("Service", "tollgate-cluster").get("spec"));
    assertEquals("None", headless.get("clusterIP"));
    assertEquals(true, headless.get("publishNotReadyAddresses"));
    assertEquals("tollgate-cluster", sts.get("serviceName"));
    // The discovery name is this Service in this namespace.
    assertEquals("tollgate-cluster.tollgate.svc.cluster.local",
        parsedArgs().matchedOptionValue("--kubernetes-service-dns", ""));
    for (Map<String, Object> d : DOCS) {
      Object meta = d.get("metadata");
      if (meta != null && !"Namespace".equals(d.get("kind"))) {
        assertEquals("tollgate", map(meta).get("namespace"), d.get("kind") + " namespace");
      }
    }
  }

  /**
   * The cluster port is open to Tollgate's own pods only; the decision ports to labelled gateways;
   * every container port is named by some rule, so none is shut by accident.
   */
  @Test
  void networkPolicyAdmitsTheClusterPortFromTollgatePodsOnly() {
    Map<String, Object> policy = map(only("NetworkPolicy", "tollgate").get("spec"));
    Map<String, Object> sts = map(only("StatefulSet", "tollgate").get("spec"));
    Map<String, Object> podLabels = map(map(map(sts.get("template")).get("metadata"))
        .get("labels"));
    assertEquals(podLabels, map(map(policy.get("podSelector")).get("matchLabels")));
    assertEquals(List.of("Ingress"), policy.get("policyTypes"));
    Map<String, Integer> ports = containerPorts();
    java.util.Set<Object> covered = new java.util.HashSet<>();
    for (Object rule : list(policy.get("ingress"))) {
      List<Object> rulePorts = list(map(rule).get("ports"));
      List<Object> from = list(map(rule).get("from"));
      assertTrue(from != null && !from.isEmpty(), "a rule open to everyone: " + rule);
      for (Object p : rulePorts) {
        Object port = map(p).get("port");
        assertTrue(ports.containsKey(port), "the policy names unknown port " + port);
        covered.add(port);
        if ("cluster".equals(port)) {
          assertEquals(1, from.size(), "the cluster port admits more than Tollgate's pods");
          Map<String, Object> peer = map(from.get(0));
          assertEquals(java.util.Set.of("podSelector"), peer.keySet(),
              "the cluster port admits other namespaces");
          assertEquals(podLabels, map(map(peer.get("podSelector")).get("matchLabels")));
        }
      }
      for (Object peer : from) {
        assertTrue(map(peer).containsKey("podSelector"), "a peer that is not a pod: " + peer);
        assertTrue(!map(map(map(peer).get("podSelector")).get("matchLabels")).isEmpty(),
            "a peer selecting every pod: " + peer);
      }
    }
    assertEquals(ports.keySet(), covered, "container ports the policy shuts");
  }

  @Test
  void disruptionBudgetTakesOneMemberAtATime() {
    Map<String, Object> spec = map(only("PodDisruptionBudget", "tollgate").get("spec"));
    assertEquals(1, spec.get("maxUnavailable"));
    Map<String, Object> pod = map(map(only("StatefulSet", "tollgate").get("spec"))
        .get("template"));
    assertTrue(map(map(pod.get("metadata")).get("labels")).entrySet()
        .containsAll(map(map(spec.get("selector")).get("matchLabels")).entrySet()));
    Map<String, Object> resources = map(container().get("resources"));
    assertNotNull(map(resources.get("requests")).get("cpu"));
    assertNotNull(map(resources.get("requests")).get("memory"));
  }

  @Test
  void probesUsePathsTheLimiterServesOnItsHttpPort() throws Exception {
    Path rules = Files.createDirectories(Deploy.scratch("k8s-rules"));
    Map<String, String> texts = new HashMap<>();
    for (Map.Entry<String, Object> e : map(only("ConfigMap", "tollgate-rules").get("data"))
        .entrySet()) {
      Files.writeString(rules.resolve(e.getKey()), (String) e.getValue());
      texts.put(e.getKey(), (String) e.getValue());
    }
    assertEquals(1, ConfigLoader.load(texts).rules().domains().size());
    try (InJvmLimiter limiter = InJvmLimiter.start(rules, new FakeClock())) {
      for (String probe : new String[] {"readinessProbe", "livenessProbe"}) {
        Map<String, Object> get = map(map(container().get(probe)).get("httpGet"));
        assertEquals("http", get.get("port"), probe);
        assertEquals(200, limiter.get((String) get.get("path")).statusCode(), probe);
      }
      Map<String, Object> annotations = map(map(map(map(only("StatefulSet", "tollgate")
          .get("spec")).get("template")).get("metadata")).get("annotations"));
      assertEquals("8080", annotations.get("prometheus.io/port"));
      assertEquals(200, limiter.get((String) annotations.get("prometheus.io/path")).statusCode());
    }
    // The ConfigMap is mounted where --config points.
    List<Object> mounts = list(container().get("volumeMounts"));
    assertTrue(mounts.toString().contains("mountPath=" + parsedArgs()
        .matchedOptionValue("--config", Path.of("")).toString()), mounts.toString());
  }

  @Test
  void aMemberStartsWithKubernetesDiscovery() throws Exception {
    // DNS lookup mode on a name that resolves to this machine: the member looks for others on
    // the cluster port there, finds only itself and serves.
    try (InJvmLimiter limiter = InJvmLimiter.start(Deploy.path("k8s").resolve("..")
        .resolve("nginx/rules.yaml"), new FakeClock(), "--discovery", "kubernetes",
        "--kubernetes-service-dns", "localhost")) {
      assertEquals(200, limiter.get("/healthz").statusCode());
      assertEquals(1.0, limiter.metric("ratelimit_cluster_members"));
    }
  }

  @Test
  void kubernetesDiscoveryWithoutAServiceNameIsABadFlag() throws Exception {
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(60), "--config",
        Deploy.path("nginx/rules.yaml").toString(), "--discovery", "kubernetes");
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("--discovery kubernetes needs --kubernetes-service-dns"),
        r.output());
  }

  @Test
  void dockerfilesRunTheJarsMavenBuilds() throws Exception {
    String limiter = Files.readString(Deploy.path("docker/limiter.Dockerfile"));
    assertTrue(Files.readString(Path.of("pom.xml")).contains("<finalName>limiter-service</finalName>"));
    assertTrue(limiter.contains("/src/limiter-service/target/limiter-service.jar"), limiter);
    assertTrue(limiter.contains("EXPOSE 8081 8080 5701"), limiter);
    assertTrue(limiter.contains("ENTRYPOINT [\"java\", \"-jar\", \"/opt/tollgate/limiter-service.jar\"]"));
    assertTrue(limiter.contains("CMD [\"--config\", \"/etc/tollgate\", \"--bind\", \"0.0.0.0\""));
    assertTrue(limiter.contains("USER 10001"), "runs as the manifests' runAsUser");
    String adapter = Files.readString(Deploy.path("docker/gateway-adapter.Dockerfile"));
    assertTrue(adapter.contains("/src/gateway-adapter/target/gateway-adapter.jar"), adapter);
    assertTrue(adapter.contains("CMD [\"--config\", "), adapter);
    // The image the StatefulSet runs is the one the Dockerfile's header builds.
    assertTrue(limiter.contains("-t " + container().get("image") + " "), limiter);
  }
}
