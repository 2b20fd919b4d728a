package io.tollgate.limiter.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.fuzzing.Fuzz;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Fuzzes the YAML loaders (rule files and the plans file) with generated input: every shipped
 * example and test fixture, mutated a few characters or lines at a time; YAML documents built from
 * the loaders' own field names with values of every kind; and text that is not YAML at all.
 *
 * <p>Whatever the input, {@link ConfigLoader#load(Map)} must either return a config or throw a
 * {@link ConfigException} whose message starts with the file's name. It may not throw anything else
 * (a {@code NullPointerException}, {@code ClassCastException}, {@code NumberFormatException},
 * {@code StackOverflowError} ...) and may not hang. The config watcher relies on exactly that to
 * keep the last good config after a bad edit.
 */
class ConfigFuzzTest {

  /** Generous on a loaded two-core machine; a parse takes well under a millisecond. */
  private static final long PARSE_LIMIT_SECONDS = 10;

  private static final ExecutorService PARSER = Fuzz.worker("config-fuzz");

  /** The seeds: every example config we ship and every config fixture of the tests. */
  private static final List<String> SEEDS = seeds();

  /** Field names the loaders know (and a few they do not), so generated documents go deep. */
  private static final List<String> FIELDS = List.of(
      "domain", "descriptors", "key", "value", "rate_limit", "rate_limits", "unit",
      "requests_per_unit", "unlimited", "name", "replaces", "algorithm", "burst", "shadow_mode",
      "quota_mode", "detailed_metric", "metadata", "value_to_metric", "share_threshold", "rlqs",
      "account", "throttle", "rate", "stages", "api", "stage", "methods", "usage_plans", "id",
      "description", "quota", "limit", "period", "offset", "time_zone", "api_stages", "api_keys",
      "hash", "enabled", "plans", "bucket", "no_assignment", "expired_assignment", "bogus", "");

  private static final Yaml DUMPER = dumper();

  @AfterAll
  static void stopParser() {
    PARSER.shutdownNow();
  }

  /** Shipped configs and fixtures, a few characters or lines changed, alone or beside a seed. */
  @Test
  void mutatedConfigsLoadOrFailWithAConfigException() {
    Fuzz.check(Fuzz.cases(3000), fuzz -> {
      Map<String, String> files = new LinkedHashMap<>();
      files.put("fuzzed.yaml", fuzz.mutate(fuzz.pick(SEEDS), 3));
      if (fuzz.chance(0.4)) {
        files.put("seed.yaml", fuzz.pick(SEEDS));
      }
      assertLoadsOrNamesTheProblem(files);
    });
  }

  /** Documents made of the loaders' own field names with values of every kind and depth. */
  @Test
  void generatedDocumentsLoadOrFailWithAConfigException() {
    Fuzz.check(Fuzz.cases(2000), fuzz -> {
      // A tree holding text YAML cannot write (a lone surrogate) is drawn again; such text reaches
      // the loader through the other two properties.
      String document = null;
      for (int attempt = 0; document == null && attempt < 100; attempt++) {
        try {
          Object tree = fuzz.tree(5, FIELDS);
          document = DUMPER.dump(tree instanceof Map ? tree
              : Collections.singletonMap(fuzz.pick(FIELDS), tree));
        } catch (YAMLException e) {
          document = null;
        }
      }
      assertNotNull(document, "no writable tree in 100 draws");
      assertLoadsOrNamesTheProblem(Map.of("generated.yaml", document));
    });
  }

  /** Any text at all, including what is not YAML. */
  @Test
  void arbitraryTextLoadsOrFailsWithAConfigException() {
    Fuzz.check(Fuzz.cases(1000), fuzz -> assertLoadsOrNamesTheProblem(Map.of("any.yaml",
        fuzz.chance(0.5) ? fuzz.anyText(400) : fuzz.fragments(40))));
  }

  private static void assertLoadsOrNamesTheProblem(Map<String, String> files) throws Throwable {
    try {
      assertNotNull(Fuzz.within(PARSER, PARSE_LIMIT_SECONDS, () -> ConfigLoader.load(files)));
    } catch (ConfigException e) {
      String message = e.getMessage();
      assertNotNull(message, "a ConfigException without a message");
      assertFalse(message.isBlank(), "a ConfigException with a blank message");
      assertTrue(files.keySet().stream().anyMatch(message::startsWith),
          "the message does not start with the file's name: " + message);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + " on " + files, e);
    } catch (Throwable t) {
      throw new AssertionError("the loader threw " + t + " instead of a ConfigException on "
          + files, t);
    }
  }

  private static List<String> seeds() {
    List<Path> roots = List.of(Path.of("..", "deploy"), Path.of("src", "test", "resources",
        "config"));
    List<String> seeds = new ArrayList<>();
    for (Path root : roots) {
      if (!Files.isDirectory(root)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(root)) {
        for (Path f : (Iterable<Path>) files.sorted()::iterator) {
          String name = f.getFileName().toString();
          if ((name.endsWith(".yaml") || name.endsWith(".yml")) && Files.isRegularFile(f)) {
            seeds.add(Files.readString(f, StandardCharsets.UTF_8));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    if (seeds.size() < 20) {
      throw new IllegalStateException("expected the shipped configs and fixtures as seeds, found "
          + seeds.size() + " files (run from the limiter-service module)");
    }
    return List.copyOf(seeds);
  }

  private static Yaml dumper() {
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    return new Yaml(options);
  }
}
