package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS with certificates made for the test (a self-signed CA issuing server and client
 * certificates): the adapter's own ports over TLS, a rotated certificate picked up without a
 * restart, mTLS refusing clients without a valid certificate, and the channel to the limiter
 * over mTLS (an in-test gRPC TLS server stands in for the limiter). Plaintext stays the default
 * everywhere else.
 */
class GatewayTlsIT {

  @TempDir
  static Path dir;
  static TestUpstream upstream;
  static Path ca;
  static Path otherCa;

  @BeforeAll
  static void start() throws Exception {
    upstream = new TestUpstream(Processes.freePort());
    ca = TestCertificates.ca(dir, "ca");
    otherCa = TestCertificates.ca(dir, "other-ca");
    TestCertificates.issue(dir, "ca", "server", "adapter");
    TestCertificates.issue(dir, "ca", "client", "client");
    TestCertificates.issue(dir, "other-ca", "stranger", "stranger");
    TestCertificates.issue(dir, "ca", "limiter", "limiter");
  }

  @AfterAll
  static void stop() {
    upstream.close();
  }

  static Path config(String name) throws IOException {
    Path config = dir.resolve(name + ".yaml");
    Files.writeString(config, """
        api: petstore
        stages: [{name: prod}]
        routes:
          - route: GET /pets/{id}
            upstreams: [http://127.0.0.1:UP]
        """.replace("UP", Integer.toString(upstream.port())));
    return config;
  }

  static HttpResponse<String> get(HttpClient client, String url) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  static void awaitOk(HttpClient client, String url) {
    Processes.await(url, Duration.ofSeconds(60), () -> {
      try {
        return get(client, url).statusCode() == 200;
      } catch (IOException e) {
        return false;
      }
    });
  }

  static String peerName(HttpResponse<?> r) throws Exception {
    return ((X509Certificate) r.sslSession().orElseThrow().getPeerCertificates()[0])
        .getSubjectX500Principal().getName();
  }

  @Test
  void bothPortsSpeakTlsAndARotatedCertificateIsServedWithoutARestart() throws Exception {
    int port = Processes.freePort();
    int admin = Processes.freePort();
    try (FakeLimiter limiter = new FakeLimiter(Processes.freePort());
        Processes.Proc adapter = Processes.adapter("tls", config("tls"), port, admin,
            limiter.target(), "--tls-cert", dir.resolve("server.pem").toString(), "--tls-key",
            dir.resolve("server.key").toString())) {
      HttpClient client = TestCertificates.client(ca, dir, null);
      awaitOk(client, "https://127.0.0.1:" + admin + "/healthz");
      HttpResponse<String> r = get(client, "https://127.0.0.1:" + port + "/prod/pets/1");
      assertEquals(200, r.statusCode(), r.body());
      assertEquals(HttpClient.Version.HTTP_2, r.version(), "HTTP/2 by ALPN");
      assertEquals("CN=adapter", peerName(r));
      // Plaintext is not answered on a TLS port.
      assertThrows(IOException.class, () -> get(Processes.HTTP, "http://127.0.0.1:" + port
          + "/prod/pets/1"));

      TestCertificates.issue(dir, "ca", "server", "rotated");
      Processes.await("the rotated certificate", Duration.ofSeconds(30), () -> peerName(get(
          TestCertificates.client(ca, dir, null), "https://127.0.0.1:" + port
              + "/prod/pets/2")).equals("CN=rotated"));
      assertTrue(adapter.stderr().contains("TLS certificate reloaded"), adapter.stderr());
    }
  }

  @Test
  void mutualTlsRefusesClientsWithoutACertificateFromTheClientCa() throws Exception {
    int port = Processes.freePort();
    int admin = Processes.freePort();
    try (FakeLimiter limiter = new FakeLimiter(Processes.freePort());
        Processes.Proc adapter = Processes.adapter("mtls", config("mtls"), port, admin,
            limiter.target(), "--tls-cert", dir.resolve("server.pem").toString(), "--tls-key",
            dir.resolve("server.key").toString(), "--tls-client-ca", ca.toString())) {
      HttpClient good = TestCertificates.client(ca, dir, "client");
      awaitOk(good, "https://127.0.0.1:" + admin + "/healthz");
      assertEquals(200, get(good, "https://127.0.0.1:" + port + "/prod/pets/m1").statusCode());
      HttpClient none = TestCertificates.client(ca, dir, null);
      assertThrows(IOException.class, () -> get(none, "https://127.0.0.1:" + port
          + "/prod/pets/m1"));
      HttpClient stranger = TestCertificates.client(ca, dir, "stranger");
      assertThrows(IOException.class, () -> get(stranger, "https://127.0.0.1:" + port
          + "/prod/pets/m1"));
      assertEquals(1, upstream.served("/pets/m1"));
    }
  }

  @Test
  void theChannelToTheLimiterUsesMutualTls() throws Exception {
    TlsServerCredentials credentials = (TlsServerCredentials) TlsServerCredentials.newBuilder()
        .keyManager(dir.resolve("limiter.pem").toFile(), dir.resolve("limiter.key").toFile())
        .trustManager(ca.toFile())
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE).build();
    int port = Processes.freePort();
    int admin = Processes.freePort();
    int noCertAdmin = Processes.freePort();
    int plainAdmin = Processes.freePort();
    try (FakeLimiter limiter = new FakeLimiter(Processes.freePort(), credentials);
        Processes.Proc adapter = Processes.adapter("limiter-mtls", config("limiter-mtls"), port,
            admin, limiter.target(), "--limiter-tls", "--limiter-tls-ca", ca.toString(),
            "--limiter-tls-cert", dir.resolve("client.pem").toString(), "--limiter-tls-key",
            dir.resolve("client.key").toString());
        Processes.Proc noCert = Processes.adapter("limiter-no-cert", config("limiter-no-cert"),
            Processes.freePort(), noCertAdmin, limiter.target(), "--limiter-tls",
            "--limiter-tls-ca", ca.toString());
        Processes.Proc plain = Processes.adapter("limiter-plain", config("limiter-plain"),
            Processes.freePort(), plainAdmin, limiter.target())) {
      adapter.awaitHealthy("http://127.0.0.1:" + admin + "/healthz", Duration.ofSeconds(60));
      long before = limiter.checks.get();
      assertEquals(200, get(Processes.HTTP, "http://127.0.0.1:" + port + "/prod/pets/3")
          .statusCode());
      assertEquals(before + 1, limiter.checks.get(), "the request was checked over mTLS");
      // Without a client certificate, or without TLS, the limiter cannot be reached: those
      // adapters never become ready and let nothing through.
      for (int a : new int[] {noCertAdmin, plainAdmin}) {
        Processes.await("admin port " + a, Duration.ofSeconds(60), () -> {
          try {
            return get(Processes.HTTP, "http://127.0.0.1:" + a + "/healthz").statusCode() > 0;
          } catch (IOException e) {
            return false;
          }
        });
        HttpResponse<String> h = get(Processes.HTTP, "http://127.0.0.1:" + a + "/healthz");
        assertEquals(503, h.statusCode(), h.body());
      }
    }
  }

  @Test
  void limiterTlsFilesWithoutTheFlagAreRefused() throws Exception {
    try (Processes.Proc adapter = Processes.adapter("limiter-ca-only", config("ca-only"),
        Processes.freePort(), Processes.freePort(), "127.0.0.1:1", "--limiter-tls-ca",
        ca.toString())) {
      assertEquals(2, adapter.waitFor(Duration.ofSeconds(60)));
      assertTrue(adapter.stderr().contains("--limiter-tls-ca and --limiter-tls-cert need "
          + "--limiter-tls"), adapter.stderr());
    }
  }
}
