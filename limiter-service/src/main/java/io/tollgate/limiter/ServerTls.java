package io.tollgate.limiter;

import io.grpc.netty.GrpcSslContexts;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * TLS for the gRPC and HTTP ports, from PEM files: the certificate chain and its private key, and
 * for mutual TLS the CA that client certificates must chain to. The files are read again every
 * {@code reloadSeconds} and loaded when their content changed, so a rotated certificate applies to every connection
 * made after the reload without a restart; connections already open keep theirs.
 *
 * <p>The JDK's TLS provider is used, not netty-tcnative: no native library is shipped. Both ports
 * share one key manager (and one trust manager), so they always present the same certificate.
 */
final class ServerTls implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ServerTls.class.getName());

  private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
  private final AdvancedTlsX509TrustManager clients;
  private final ScheduledExecutorService reloader;
  private final Path cert;
  private final Path key;
  private final Path clientCa;
  private List<byte[]> loaded;
  private final SslContext grpc;
  private final SslContext http;

  /**
   * Reads the files (a bad file fails here, before any port opens) and starts watching them.
   *
   * @param clientCa the CA file for mutual TLS, or {@code null} for server-only TLS
   */
  ServerTls(Path cert, Path key, Path clientCa, long reloadSeconds)
      throws IOException, GeneralSecurityException {
    reloader = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "tollgate-tls-reload");
      t.setDaemon(true);
      return t;
    });
    this.cert = cert;
    this.key = key;
    this.clientCa = clientCa;
    try {
      keys.updateIdentityCredentials(cert.toFile(), key.toFile());
      if (clientCa != null) {
        // Chain and validity only: a client is identified by its certificate, not a host name.
        clients = AdvancedTlsX509TrustManager.newBuilder()
            .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
            .build();
        clients.updateTrustCredentials(clientCa.toFile());
      } else {
        clients = null;
      }
      loaded = contents();
      reloader.scheduleWithFixedDelay(this::reloadIfChanged, reloadSeconds, reloadSeconds,
          TimeUnit.SECONDS);
      grpc = GrpcSslContexts.configure(configure(SslContextBuilder.forServer(keys)),
          SslProvider.JDK).build();
      http = configure(SslContextBuilder.forServer(keys).sslProvider(SslProvider.JDK)).build();
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** The files' bytes: a rotation is seen by content, whatever the files' timestamps say. */
  private List<byte[]> contents() throws IOException {
    List<byte[]> out = new ArrayList<>();
    out.add(Files.readAllBytes(cert));
    out.add(Files.readAllBytes(key));
    if (clientCa != null) {
      out.add(Files.readAllBytes(clientCa));
    }
    return out;
  }

  /**
   * Loads the files again when any changed. A pair that does not load (e.g. the certificate was
   * replaced and the key not yet) keeps the previous credentials and is tried again next time.
   */
  private void reloadIfChanged() {
    try {
      List<byte[]> now = contents();
      boolean changed = false;
      for (int i = 0; i < now.size(); i++) {
        changed |= !Arrays.equals(now.get(i), loaded.get(i));
      }
      if (!changed) {
        return;
      }
      keys.updateIdentityCredentials(cert.toFile(), key.toFile());
      if (clients != null) {
        clients.updateTrustCredentials(clientCa.toFile());
      }
      loaded = now;
      LOG.info("TLS files reloaded: " + cert + (clientCa == null ? "" : ", " + clientCa));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      LOG.warning("TLS files not reloaded, the previous ones stay in use: " + e);
    }
  }

  private SslContextBuilder configure(SslContextBuilder b) {
    b.protocols("TLSv1.3", "TLSv1.2");
    if (clients != null) {
      b.trustManager(clients).clientAuth(ClientAuth.REQUIRE);
    }
    return b;
  }

  /** The context of the gRPC port (HTTP/2 with ALPN). */
  SslContext grpc() {
    return grpc;
  }

  /** The context of the HTTP port (HTTP/1.1). */
  SslContext http() {
    return http;
  }

  @Override
  public void close() {
    reloader.shutdownNow();
  }
}
