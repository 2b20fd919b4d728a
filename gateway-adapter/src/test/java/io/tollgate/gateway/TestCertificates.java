package io.tollgate.gateway;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Real certificates made for a test by the {@code openssl} command: a self-signed CA, and
 * certificates it issues for 127.0.0.1 and localhost (server and client use), as PEM files; and
 * JDK HTTP clients that trust a CA and optionally present a client certificate.
 */
final class TestCertificates {

  private TestCertificates() {}

  /** A self-signed CA: {@code dir/name.pem} and {@code dir/name.key}. */
  static Path ca(Path dir, String name) throws Exception {
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", name + ".key", "-out", name + ".pem", "-subj", "/CN=" + name,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    return dir.resolve(name + ".pem");
  }

  /**
   * A certificate issued by CA {@code ca} (as made by {@link #ca}) with common name {@code cn},
   * for 127.0.0.1 and localhost: {@code dir/name.pem} and {@code dir/name.key}, each replaced in
   * one move so a reader never sees half a file.
   */
  static Path issue(Path dir, String ca, String name, String cn) throws Exception {
    String tmp = name + "-" + System.nanoTime();
    Files.writeString(dir.resolve(tmp + ".ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        + "extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n");
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp + ".key",
        "-out", tmp + ".csr", "-subj", "/CN=" + cn);
    openssl(dir, "x509", "-req", "-in", tmp + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
        "-set_serial", Long.toString(ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE)),
        "-days", "2", "-out", tmp + ".pem", "-extfile", tmp + ".ext");
    Files.move(dir.resolve(tmp + ".key"), dir.resolve(name + ".key"),
        StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Files.move(dir.resolve(tmp + ".pem"), dir.resolve(name + ".pem"),
        StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return dir.resolve(name + ".pem");
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
    }
  }

  /**
   * A JDK client (HTTP/2 preferred) that trusts {@code caPem} and, when {@code name} is not
   * null, presents {@code dir/name.pem} with {@code dir/name.key}.
   */
  static HttpClient client(Path caPem, Path dir, String name) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    int i = 0;
    for (Certificate c : PemTlsProvider.certificates(caPem)) {
      trust.setCertificateEntry("ca" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(
        TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (name != null) {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      String pem = Files.readString(dir.resolve(name + ".key"));
      byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
      PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(
          new PKCS8EncodedKeySpec(der));
      keys.setKeyEntry("client", key, new char[0], PemTlsProvider.certificates(
          dir.resolve(name + ".pem")).toArray(new Certificate[0]));
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, new char[0]);
    }
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
  }
}
