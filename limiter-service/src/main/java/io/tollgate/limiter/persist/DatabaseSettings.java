package io.tollgate.limiter.persist;

import java.nio.file.Path;

/**
 * Where the database is.
 *
 * @param url a {@code jdbc:postgresql:} URL, or {@code null} or empty for the embedded H2 file in
 *     {@code dataDir}
 * @param user the database user; for the embedded file {@code null} means {@code tollgate}
 * @param password the user's password; for the embedded file {@code null} means the one
 *     generated for it and kept in the data directory
 * @param dataDir the directory of the embedded database file; required without {@code url},
 *     ignored with one
 * @param autoServer for the embedded file: let other processes on this machine open it at the
 *     same time, through a TCP server on 127.0.0.1 inside whichever process opened it first
 *     (H2's {@code AUTO_SERVER}); every process sharing the directory must say so. Ignored with
 *     a {@code url}
 */
public record DatabaseSettings(String url, String user, String password, Path dataDir,
    boolean autoServer) {

  /** Blank user and password (unset command-line values) mean none given. */
  public DatabaseSettings {
    user = user == null || user.isBlank() ? null : user;
    password = password == null || password.isEmpty() ? null : password;
  }

  /** Settings without {@code autoServer}. */
  public DatabaseSettings(String url, String user, String password, Path dataDir) {
    this(url, user, password, dataDir, false);
  }

  /** The embedded H2 file in {@code dataDir}, opened by this process alone. */
  public static DatabaseSettings embedded(Path dataDir) {
    return new DatabaseSettings(null, null, null, dataDir, false);
  }

  /** The embedded H2 file in {@code dataDir}, shared with other processes on this machine. */
  public static DatabaseSettings sharedEmbedded(Path dataDir) {
    return new DatabaseSettings(null, null, null, dataDir, true);
  }

  /** Whether these settings name the embedded H2 file rather than a server. */
  public boolean isEmbedded() {
    return url == null || url.isBlank();
  }

  /** Never shows the password. */
  @Override
  public String toString() {
    return "DatabaseSettings[url=" + Database.redact(url) + ", user=" + user
        + ", password=" + (password == null ? "null" : "***") + ", dataDir=" + dataDir
        + ", autoServer=" + autoServer + "]";
  }
}
