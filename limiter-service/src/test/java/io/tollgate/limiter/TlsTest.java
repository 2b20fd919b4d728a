package io.tollgate.limiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.tollgate.limiter.cli.AdminCli;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import io.tollgate.limiter.testing.TestCerts;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS and mutual TLS on the gRPC and HTTP ports, with certificates made in the test by a
 * throw-away CA; rotation of the files while the limiter runs.
 */
class TlsTest {

  private static final String TOKEN = "tls-test-admin-token-0123";

  @TempDir
  static Path dir;
  private static TestCerts ca;
  private static TestCerts otherCa;
  private static TestCerts.Issued server;
  private static TestCerts.Issued rotated;
  private static TestCerts.Issued client;
  private static TestCerts.Issued stranger;

  @BeforeAll
  static void certificates() throws Exception {
    ca = TestCerts.newCa(dir, "tollgate");
    otherCa = TestCerts.newCa(dir, "other");
    server = ca.issue("server-one");
    rotated = ca.issue("server-two");
    client = ca.issue("gateway");
    stranger = otherCa.issue("stranger");
  }

  private static Path rules() throws Exception {
    return Path.of(TlsTest.class.getResource("/service/rules.yaml").toURI());
  }

  private static ManagedChannel channel(int port, TestCerts.Issued clientCert) throws Exception {
    SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(ca.caPem().toFile());
    if (clientCert != null) {
      ssl.keyManager(clientCert.cert().toFile(), clientCert.key().toFile());
    }
    return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(ssl.build()).build();
  }

  private static ServingStatus health(ManagedChannel channel) {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus();
  }

  private static int https(int port, SSLContext ssl) throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(ssl)
        .connectTimeout(Duration.ofSeconds(5)).build();
    return http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/healthz"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  /** The subject of the certificate a new TLS connection to {@code port} is shown. */
  private static String presented(int port) throws Exception {
    SSLContext trustAll = TestCerts.clientContext(ca.caPem(), null);
    try (SSLSocket s = (SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(5_000);
      s.startHandshake();
      return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal()
          .getName();
    }
  }

  @Test
  void tlsOnBothPortsAndRotationWithoutRestart() throws Exception {
    Path cert = dir.resolve("live.crt");
    Path key = dir.resolve("live.key");
    TestCerts.install(server, cert, key);
    try (InJvmLimiter limiter = InJvmLimiter.start(rules(), new FakeClock(), "--tls-cert",
        cert.toString(), "--tls-key", key.toString(), "--tls-reload-seconds", "1",
        "--admin-token", TOKEN)) {
      ManagedChannel tls = channel(limiter.grpcPort(), null);
      try {
        assertEquals(ServingStatus.SERVING, health(tls));
      } finally {
        tls.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      assertEquals(200, https(limiter.httpPort(), TestCerts.clientContext(ca.caPem(), null)));
      // Plain text is not served on either port.
      assertThrows(StatusRuntimeException.class, () -> limiter.client.health());
      assertThrows(IOException.class, () -> limiter.get("/healthz"));

      // The admin CLI reaches the TLS port when told which CA to trust, and not otherwise.
      String url = "https://127.0.0.1:" + limiter.httpPort();
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      assertEquals(0, AdminCli.run(new String[] {"plans", "list", "--url", url, "--token", TOKEN,
          "--ca-file", ca.caPem().toString()}, new PrintWriter(out), new PrintWriter(err),
          Map.of(), Clock.systemUTC()), out + "\n" + err);
      assertEquals(1, AdminCli.run(new String[] {"plans", "list", "--url", url, "--token",
          TOKEN}, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()),
          Map.of(), Clock.systemUTC()));

      assertEquals("CN=server-one", presented(limiter.grpcPort()));
      assertEquals("CN=server-one", presented(limiter.httpPort()));
      TestCerts.install(rotated, cert, key);
      Awaits.await("the rotated certificate on new connections", Duration.ofSeconds(30), () -> {
        try {
          return presented(limiter.grpcPort()).equals("CN=server-two")
              && presented(limiter.httpPort()).equals("CN=server-two");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      assertEquals(200, https(limiter.httpPort(), TestCerts.clientContext(ca.caPem(), null)));
    }
  }

  @Test
  void mutualTlsRefusesClientsWithoutAValidCertificate() throws Exception {
    try (InJvmLimiter limiter = InJvmLimiter.start(rules(), new FakeClock(), "--tls-cert",
        server.cert().toString(), "--tls-key", server.key().toString(), "--tls-client-ca",
        ca.caPem().toString())) {
      ManagedChannel good = channel(limiter.grpcPort(), client);
      ManagedChannel anonymous = channel(limiter.grpcPort(), null);
      ManagedChannel foreign = channel(limiter.grpcPort(), stranger);
      try {
        assertEquals(ServingStatus.SERVING, health(good));
        assertThrows(StatusRuntimeException.class, () -> health(anonymous));
        assertThrows(StatusRuntimeException.class, () -> health(foreign));
      } finally {
        for (ManagedChannel c : new ManagedChannel[] {good, anonymous, foreign}) {
          c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
      assertEquals(200, https(limiter.httpPort(), TestCerts.clientContext(ca.caPem(), client)));
      assertThrows(IOException.class,
          () -> https(limiter.httpPort(), TestCerts.clientContext(ca.caPem(), null)));
      assertThrows(IOException.class,
          () -> https(limiter.httpPort(), TestCerts.clientContext(ca.caPem(), stranger)));
    }
  }
}
