package io.tollgate.limiter.persist;

import java.nio.file.Path;

/**
 * Where the database is.
 *
 * @param url a {@code jdbc:postgresql:} URL, or {@code null} or empty for the embedded H2 file in
 *     {@code dataDir}
 * @param user the database user; for the embedded file {@code null} means {@code tollgate}
 * @param password the user's password; {@code null} means none
 * @param dataDir the directory of the embedded database file; required without {@code url},
 *     ignored with one
 */
public record DatabaseSettings(String url, String user, String password, Path dataDir) {

  /** The embedded H2 file in {@code dataDir}, with the default user and no password. */
  public static DatabaseSettings embedded(Path dataDir) {
    return new DatabaseSettings(null, null, null, dataDir);
  }

  /** Whether these settings name the embedded H2 file rather than a server. */
  public boolean isEmbedded() {
    return url == null || url.isBlank();
  }

  /** Never shows the password. */
  @Override
  public String toString() {
    return "DatabaseSettings[url=" + Database.redact(url) + ", user=" + user
        + ", password=" + (password == null ? "null" : "***") + ", dataDir=" + dataDir + "]";
  }
}
