package io.tollgate.limiter.persist;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

/**
 * The embedded database's directory: kept private to its owner (0700), holding the database
 * file, the generated password ({@value #PASSWORD_FILE}, 0600) and the lock that lets processes
 * sharing the directory open the database one at a time ({@value #OPEN_LOCK_FILE}).
 *
 * <p>Implementation notes. H2 guards its file with a lock file of its own whose take-over after
 * a crash is a write-then-check protocol: two processes that find a stale H2 lock file at the
 * same moment can both fail, one of them with "Another process was faster", which ends it. The
 * opening here is therefore serialized by an operating-system lock ({@link FileChannel#lock()})
 * on a separate file, which the kernel releases when its holder exits, however it exits, so a
 * SIGKILL never leaves it held. Inside one JVM an operating-system lock cannot be taken twice, so
 * a JVM-wide lock is taken first. The lock is held while the database is opened (and, by then,
 * served to the other processes) and migrated, not afterwards.
 */
final class DataDirectory {

  private static final Logger LOG = Logger.getLogger(DataDirectory.class.getName());

  /** The generated password of the embedded database's user. */
  static final String PASSWORD_FILE = "db.password";
  /** A password being set on a database created without one; see {@link #pendingPassword}. */
  static final String PENDING_PASSWORD_FILE = "db.password.new";
  /** Taken (by the operating system's file locking) while a process opens the database. */
  static final String OPEN_LOCK_FILE = "tollgate.open.lock";

  private static final Set<PosixFilePermission> OWNER_ONLY_DIR =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> OWNER_ONLY_FILE =
      PosixFilePermissions.fromString("rw-------");
  private static final int PASSWORD_BYTES = 24;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final ReentrantLock IN_JVM = new ReentrantLock();

  private final Path dir;
  private final boolean posix;

  private DataDirectory(Path dir, boolean posix) {
    this.dir = dir;
    this.posix = posix;
  }

  /**
   * Creates the directory (with its parents) readable by its owner only, or makes an existing
   * one so.
   */
  static DataDirectory prepare(Path dataDir) {
    Path dir = dataDir.toAbsolutePath().normalize();
    try {
      boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
      if (!Files.isDirectory(dir)) {
        Path parent = dir.getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        try {
          if (posix) {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
          } else {
            Files.createDirectory(dir);
          }
        } catch (FileAlreadyExistsException raced) {
          // Another member created it at the same moment.
        }
      }
      if (posix) {
        PosixFileAttributeView view =
            Files.getFileAttributeView(dir, PosixFileAttributeView.class);
        Set<PosixFilePermission> now = view.readAttributes().permissions();
        if (!now.equals(OWNER_ONLY_DIR)) {
          try {
            view.setPermissions(OWNER_ONLY_DIR);
            LOG.info(() -> "data directory " + dir + " made private to its owner (was "
                + PosixFilePermissions.toString(now) + ")");
          } catch (IOException notOwner) {
            // A mounted volume owned by another user (Kubernetes' fsGroup): its files are still
            // created private (the password file 0600).
            LOG.warning(() -> "cannot make data directory " + dir + " private to its owner"
                + " (it stays " + PosixFilePermissions.toString(now) + "): " + notOwner);
          }
        }
      }
      return new DataDirectory(dir, posix);
    } catch (IOException e) {
      throw new PersistenceException("cannot create data directory " + dir + ": " + e, e);
    }
  }

  /** The directory, absolute. */
  Path path() {
    return dir;
  }

  /** Whether the database file exists (a database was created here before). */
  boolean hasDatabase(String name) {
    return Files.exists(dir.resolve(name + ".mv.db"));
  }

  /**
   * Waits until no other process (and no other thread of this one) is opening the database in
   * this directory, and keeps them out until the returned lock is closed.
   */
  OpenLock lockForOpening() {
    IN_JVM.lock();
    FileChannel channel = null;
    try {
      channel = FileChannel.open(dir.resolve(OPEN_LOCK_FILE), Set.of(StandardOpenOption.CREATE,
          StandardOpenOption.WRITE), fileAttributes(OWNER_ONLY_FILE));
      FileLock lock = channel.lock();
      return new OpenLock(channel, lock);
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel);
      IN_JVM.unlock();
      throw new PersistenceException("cannot lock " + dir.resolve(OPEN_LOCK_FILE) + ": " + e, e);
    }
  }

  /** The stored password, or {@code null} when none is stored yet. */
  String storedPassword() {
    return read(dir.resolve(PASSWORD_FILE));
  }

  /** A password written down before it was set on the database, or {@code null}. */
  String pendingPassword() {
    return read(dir.resolve(PENDING_PASSWORD_FILE));
  }

  /** A new random password (URL-safe Base64 of 24 random bytes: no quote, no space). */
  static String newPassword() {
    byte[] bytes = new byte[PASSWORD_BYTES];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** Stores {@code password} as the database's password, readable by the owner only. */
  void storePassword(String password) {
    write(dir.resolve(PASSWORD_FILE), password);
  }

  /** Writes {@code password} down as pending, before it is set on the database. */
  void storePendingPassword(String password) {
    write(dir.resolve(PENDING_PASSWORD_FILE), password);
  }

  /** Makes the pending password the stored one, once it is set on the database. */
  void commitPendingPassword() {
    try {
      Files.move(dir.resolve(PENDING_PASSWORD_FILE), dir.resolve(PASSWORD_FILE),
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new PersistenceException("cannot store the database password in " + dir + ": " + e,
          e);
    }
  }

  private String read(Path file) {
    try {
      if (!Files.exists(file)) {
        return null;
      }
      String password = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (password.isEmpty()) {
        throw new PersistenceException(file + " is empty: delete it only together with the"
            + " database, or write the database's password into it");
      }
      return password;
    } catch (IOException e) {
      throw new PersistenceException("cannot read " + file + ": " + e, e);
    }
  }

  /** Writes through a private temporary file, so a reader sees the whole password or none. */
  private void write(Path file, String password) {
    Path temp = null;
    try {
      temp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp",
          fileAttributes(OWNER_ONLY_FILE));
      Files.writeString(temp, password + "\n", StandardCharsets.UTF_8);
      try (FileChannel c = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        c.force(true);
      }
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // The temporary file is private; it is only clutter.
        }
      }
      throw new PersistenceException("cannot store the database password in " + file + ": " + e,
          e);
    }
  }

  private FileAttribute<?>[] fileAttributes(Set<PosixFilePermission> permissions) {
    return posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
        : new FileAttribute<?>[0];
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // Closing releases the lock; nothing else to do.
      }
    }
  }

  /** The held opening lock; closing it lets the next process open the database. */
  static final class OpenLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;
    private boolean released;

    private OpenLock(FileChannel channel, FileLock lock) {
      this.channel = channel;
      this.lock = lock;
    }

    @Override
    public void close() {
      if (released) {
        return;
      }
      released = true;
      try {
        lock.release();
      } catch (IOException ignored) {
        // Closing the channel below releases it too.
      } finally {
        closeQuietly(channel);
        IN_JVM.unlock();
      }
    }
  }
}
