package io.tollgate.limiter.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A throw-away certificate authority for TLS tests, made with the JDK's keytool: a self-signed
 * CA, and certificates it issues for 127.0.0.1 and localhost, written as PEM files (the key as
 * PKCS#8), as an operator would hand them to the limiter.
 */
public final class TestCerts {

  private static final String PASSWORD = "changeit";

  /** A certificate and its private key, as PEM files. */
  public record Issued(Path cert, Path key, Path keyStore) {}

  private final Path dir;
  private final Path caStore;
  private final Path caPem;

  private TestCerts(Path dir, Path caStore, Path caPem) {
    this.dir = dir;
    this.caStore = caStore;
    this.caPem = caPem;
  }

  /** A new CA named {@code name}, its files in {@code dir}. */
  public static TestCerts newCa(Path dir, String name) throws Exception {
    Path store = dir.resolve(name + "-ca.p12");
    Path pem = dir.resolve(name + "-ca.pem");
    keytool("-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-dname",
        "CN=" + name + " test CA", "-ext", "bc:c", "-validity", "3", "-keystore",
        store.toString());
    keytool("-exportcert", "-alias", "ca", "-rfc", "-file", pem.toString(), "-keystore",
        store.toString());
    return new TestCerts(dir, store, pem);
  }

  /** The CA's certificate (PEM). */
  public Path caPem() {
    return caPem;
  }

  /** A certificate for 127.0.0.1 and localhost with common name {@code cn}, signed by the CA. */
  public Issued issue(String cn) throws Exception {
    Path store = dir.resolve(cn + ".p12");
    Path csr = dir.resolve(cn + ".csr");
    Path cert = dir.resolve(cn + ".crt");
    Path key = dir.resolve(cn + ".key");
    keytool("-genkeypair", "-alias", "leaf", "-keyalg", "RSA", "-keysize", "2048", "-dname",
        "CN=" + cn, "-validity", "3", "-keystore", store.toString());
    keytool("-certreq", "-alias", "leaf", "-file", csr.toString(), "-keystore", store.toString());
    keytool("-gencert", "-alias", "ca", "-infile", csr.toString(), "-outfile", cert.toString(),
        "-rfc", "-validity", "3", "-ext", "san=ip:127.0.0.1,dns:localhost", "-ext",
        "eku=serverAuth,clientAuth", "-keystore", caStore.toString());
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, PASSWORD.toCharArray());
    }
    byte[] pkcs8 = ks.getKey("leaf", PASSWORD.toCharArray()).getEncoded();
    Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(pkcs8) + "\n-----END PRIVATE KEY-----\n");
    // The keystore for Java clients: the key with the issued certificate in place of the
    // self-signed one.
    ks.setKeyEntry("leaf", ks.getKey("leaf", PASSWORD.toCharArray()), PASSWORD.toCharArray(),
        new java.security.cert.Certificate[] {read(cert)});
    try (var out = Files.newOutputStream(store)) {
      ks.store(out, PASSWORD.toCharArray());
    }
    return new Issued(cert, key, store);
  }

  /** Copies an issued pair over {@code cert} and {@code key}, each by an atomic rename. */
  public static void install(Issued issued, Path cert, Path key) throws IOException {
    Path tmpCert = cert.resolveSibling(cert.getFileName() + ".tmp");
    Path tmpKey = key.resolveSibling(key.getFileName() + ".tmp");
    Files.copy(issued.cert(), tmpCert, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(issued.key(), tmpKey, StandardCopyOption.REPLACE_EXISTING);
    Files.move(tmpKey, key, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    Files.move(tmpCert, cert, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  /** Reads one PEM certificate. */
  public static X509Certificate read(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  /**
   * A client SSLContext that trusts {@code ca} and, when {@code client} is not null, presents
   * that certificate.
   */
  public static SSLContext clientContext(Path ca, Issued client) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", read(ca));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(
        TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (client != null) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(client.keyStore())) {
        ks.load(in, PASSWORD.toCharArray());
      }
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, PASSWORD.toCharArray());
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  private static void keytool(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD));
    if (List.of(args).contains("-genkeypair")) {
      cmd.addAll(List.of("-keypass", PASSWORD));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException("keytool " + String.join(" ", args) + " failed:\n" + out);
    }
  }
}
