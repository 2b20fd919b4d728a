package io.tollgate.gateway;

import com.linecorp.armeria.common.TlsKeyPair;
import com.linecorp.armeria.common.TlsProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The adapter's own TLS: a certificate chain and private key from PEM files, and optionally the
 * CA certificates that client certificates must chain to (mTLS). {@link #reloadIfChanged()},
 * called periodically, reads the files again when one of them changed, so a rotated certificate
 * is served to new connections without a restart; a file that cannot be read or parsed (e.g. half
 * written) is logged and the current material is kept.
 */
final class PemTlsProvider implements TlsProvider {

  private static final Logger LOG = Logger.getLogger(PemTlsProvider.class.getName());

  private final Path cert;
  private final Path key;
  private final Path clientCa;
  private volatile TlsKeyPair keyPair;
  private volatile List<X509Certificate> trusted;
  private List<FileTime> loadedTimes;

  /**
   * Reads the files now; fails when they cannot be read.
   *
   * @param clientCa null when clients need no certificate
   */
  PemTlsProvider(Path cert, Path key, Path clientCa) throws IOException {
    this.cert = cert;
    this.key = key;
    this.clientCa = clientCa;
    try {
      load();
    } catch (RuntimeException | GeneralSecurityException e) {
      throw new IOException("cannot read the TLS files " + cert + ", " + key
          + (clientCa == null ? "" : ", " + clientCa) + ": " + e.getMessage(), e);
    }
  }

  private void load() throws IOException, GeneralSecurityException {
    List<FileTime> times = times();
    TlsKeyPair pair = TlsKeyPair.of(key.toFile(), cert.toFile());
    List<X509Certificate> cas = clientCa == null ? null : certificates(clientCa);
    keyPair = pair;
    trusted = cas;
    loadedTimes = times;
  }

  private List<FileTime> times() throws IOException {
    List<FileTime> t = new ArrayList<>(3);
    t.add(Files.getLastModifiedTime(cert));
    t.add(Files.getLastModifiedTime(key));
    if (clientCa != null) {
      t.add(Files.getLastModifiedTime(clientCa));
    }
    return t;
  }

  static List<X509Certificate> certificates(Path pem) throws IOException,
      GeneralSecurityException {
    try (InputStream in = Files.newInputStream(pem)) {
      List<X509Certificate> out = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new GeneralSecurityException(pem + ": no certificate");
      }
      return List.copyOf(out);
    }
  }

  /** Reads the files again if any changed since the last load; keeps the old ones on error. */
  synchronized void reloadIfChanged() {
    try {
      if (times().equals(loadedTimes)) {
        return;
      }
      load();
      LOG.info("TLS certificate reloaded from " + cert);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      LOG.log(Level.WARNING, "cannot reload the TLS files (" + e.getMessage()
          + "); the current certificate stays", e);
    }
  }

  @Override
  public TlsKeyPair keyPair(String hostname) {
    return keyPair;
  }

  @Override
  public List<X509Certificate> trustedCertificates(String hostname) {
    return trusted;
  }
}
