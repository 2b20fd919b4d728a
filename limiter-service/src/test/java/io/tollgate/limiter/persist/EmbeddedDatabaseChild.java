package io.tollgate.limiter.persist;

import io.tollgate.limiter.plan.UsagePlan;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

/**
 * A second process on an embedded data directory, for {@link EmbeddedPersistenceTest}: opens it,
 * stores a plan, prints every plan id, and exits.
 */
public final class EmbeddedDatabaseChild {

  private EmbeddedDatabaseChild() {}

  public static void main(String[] args) {
    try (Database db = Database.open(DatabaseSettings.embedded(Path.of(args[0])))) {
      db.plans().store(new UsagePlan("from-child", "", "", null, null, List.of(), false));
      System.out.println("ids=" + new TreeSet<>(db.plans().ids()));
    }
  }
}
