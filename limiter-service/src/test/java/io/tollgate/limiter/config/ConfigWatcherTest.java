package io.tollgate.limiter.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.tollgate.limiter.rule.DescriptorView;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.rule.RuleSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Drives {@link ConfigWatcher#poll()} by hand; the timer is never started. */
class ConfigWatcherTest {

  @TempDir
  Path dir;

  private final AtomicReference<RuleSet> rules = new AtomicReference<>();
  private final List<Boolean> outcomes = new ArrayList<>();
  private ConfigWatcher watcher;

  @AfterEach
  void close() {
    if (watcher != null) {
      watcher.close();
    }
  }

  /** A config whose only limit allows {@code n} requests per second for key {@code k}. */
  private static String config(long n) {
    return "domain: edge\ndescriptors:\n  - key: k\n    rate_limit:\n      unit: second\n"
        + "      requests_per_unit: " + n + "\n";
  }

  private static final String BAD = "domain: edge\ndescriptors:\n  - key: k\n    rate_limit:\n"
      + "      unit: fortnight\n      requests_per_unit: 1\n";

  /** Loads {@code path} as the server does at start-up, then watches it. */
  private RuleSet startWatching(Path path) throws ConfigException {
    var texts = ConfigLoader.read(path);
    RuleSet initial = ConfigLoader.parse(texts);
    rules.set(initial);
    watcher = new ConfigWatcher(path, texts, c -> rules.set(c.rules()), outcomes::add);
    return initial;
  }

  /** The limit the current rules give key {@code k}. */
  private long currentLimit() {
    List<RateLimitRule> matched = rules.get().match("edge", new DescriptorView() {
      @Override
      public int size() {
        return 1;
      }

      @Override
      public String key(int i) {
        return "k";
      }

      @Override
      public String value(int i) {
        return "v";
      }
    });
    assertEquals(1, matched.size());
    return matched.get(0).requestsPerUnit();
  }

  @Test
  void unchangedFilesAreNotReloaded() throws Exception {
    Files.writeString(dir.resolve("rules.yaml"), config(10));
    RuleSet initial = startWatching(dir);

    watcher.poll();
    watcher.poll();

    assertEquals(List.of(), outcomes);
    assertSame(initial, rules.get());
  }

  @Test
  void goodEditSwapsRulesAndReportsSuccess() throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, config(10));
    startWatching(dir);

    Files.writeString(file, config(20));
    watcher.poll();

    assertEquals(List.of(true), outcomes);
    assertEquals(20, currentLimit());

    watcher.poll();
    assertEquals(List.of(true), outcomes, "an unchanged file is not reloaded again");
  }

  @Test
  void badEditKeepsLastGoodRulesAndReportsOnceUntilFixed() throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, config(10));
    RuleSet initial = startWatching(dir);

    Files.writeString(file, BAD);
    watcher.poll();
    assertEquals(List.of(false), outcomes);
    assertSame(initial, rules.get());

    watcher.poll();
    watcher.poll();
    assertEquals(List.of(false), outcomes, "an unchanged bad file is not reported again");
    assertSame(initial, rules.get());

    Files.writeString(file, config(30));
    watcher.poll();
    assertEquals(List.of(false, true), outcomes);
    assertEquals(30, currentLimit());
  }

  @Test
  void revertingABadEditToTheLastGoodContentReloadsIt() throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, config(10));
    startWatching(dir);

    Files.writeString(file, BAD);
    watcher.poll();
    Files.writeString(file, config(10));
    watcher.poll();

    assertEquals(List.of(false, true), outcomes);
    assertEquals(10, currentLimit());
  }

  @Test
  void deletingTheOnlyFileReportsFailureOnceAndKeepsRules() throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, config(10));
    RuleSet initial = startWatching(dir);

    Files.delete(file);
    watcher.poll();
    assertEquals(List.of(false), outcomes);
    assertSame(initial, rules.get());

    watcher.poll();
    assertEquals(List.of(false), outcomes, "a persisting missing file is not reported again");

    Files.writeString(file, config(40));
    watcher.poll();
    assertEquals(List.of(false, true), outcomes);
    assertEquals(40, currentLimit());
  }

  @Test
  void fileReplacedByAtomicRenameIsPickedUp() throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, config(10));
    startWatching(dir);

    // As editors and config tools do: write a temporary file beside it, then rename over it.
    Path tmp = dir.resolve(".rules.yaml.tmp");
    Files.writeString(tmp, config(50));
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    watcher.poll();

    assertEquals(List.of(true), outcomes);
    assertEquals(50, currentLimit());
  }

  @Test
  void watchingASingleFilePicksUpItsReplacement() throws Exception {
    Path file = dir.resolve("rules.yaml");
    Files.writeString(file, config(10));
    startWatching(file);

    Path tmp = dir.resolve("rules.yaml.new");
    Files.writeString(tmp, config(60));
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    watcher.poll();

    assertEquals(List.of(true), outcomes);
    assertEquals(60, currentLimit());
  }

  @Test
  void addingAFileWithADuplicateDomainIsRejected() throws Exception {
    Files.writeString(dir.resolve("a.yaml"), config(10));
    RuleSet initial = startWatching(dir);

    Files.writeString(dir.resolve("b.yaml"), config(70));
    watcher.poll();

    assertEquals(List.of(false), outcomes);
    assertSame(initial, rules.get());
  }
}
