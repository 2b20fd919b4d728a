package io.tollgate.limiter.persist;

import io.tollgate.limiter.plan.UsagePlan;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

/**
 * A second process on an embedded data directory, for {@link EmbeddedPersistenceTest}: opens it
 * (shared when the second argument is {@code shared}), stores a plan, prints every plan id, and
 * exits; or prints why it could not open it and exits with 2.
 */
public final class EmbeddedDatabaseChild {

  private EmbeddedDatabaseChild() {}

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    boolean shared = args.length > 1 && args[1].equals("shared");
    DatabaseSettings settings =
        shared ? DatabaseSettings.sharedEmbedded(dir) : DatabaseSettings.embedded(dir);
    Database db;
    try {
      db = Database.open(settings);
    } catch (PersistenceException e) {
      System.out.println("refused: " + e.getMessage());
      System.exit(2);
      return;
    }
    try (db) {
      db.plans().store(new UsagePlan("from-child", "", "", null, null, List.of(), false));
      System.out.println("ids=" + new TreeSet<>(db.plans().ids()));
    }
  }
}
