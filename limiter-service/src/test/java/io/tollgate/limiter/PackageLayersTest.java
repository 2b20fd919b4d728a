package io.tollgate.limiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package boundaries the code is organised around, checked on the sources: Hazelcast stays in
 * the grid, and the decision core and the operator's plan service see no protocol's messages.
 */
class PackageLayersTest {

  private static final Path ROOT = Path.of("src/main/java/io/tollgate/limiter");

  @Test
  void onlyTheGridTheClusterAndTheServerStartImportHazelcast() {
    List<String> offenders = sourcesImporting("import com.hazelcast.", file -> {
      String rel = ROOT.relativize(file).toString().replace('\\', '/');
      return !rel.startsWith("grid/") && !rel.startsWith("cluster/")
          && !rel.equals("LimiterServer.java");
    });
    assertEquals(List.of(), offenders);
  }

  @Test
  void theDecisionCoreAndThePlanServiceImportNoProtocol() {
    for (String pkg : List.of("decide/", "service/", "algorithm/", "rule/", "store/")) {
      for (String protocol : List.of("import io.envoyproxy.", "import io.tollgate.api.",
          "import com.google.protobuf.", "import io.grpc.")) {
        List<String> offenders = sourcesImporting(protocol,
            file -> ROOT.relativize(file).toString().replace('\\', '/').startsWith(pkg));
        assertEquals(List.of(), offenders, pkg + " must not " + protocol);
      }
    }
  }

  private static List<String> sourcesImporting(String prefix, Predicate<Path> inScope) {
    assertTrue(Files.isDirectory(ROOT), "run from the module directory: " + ROOT);
    try (Stream<Path> files = Files.walk(ROOT)) {
      return files.filter(f -> f.toString().endsWith(".java")).filter(inScope)
          .filter(f -> lines(f).anyMatch(line -> line.startsWith(prefix)))
          .map(f -> ROOT.relativize(f).toString()).sorted().collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Stream<String> lines(Path file) {
    try {
      return Files.readAllLines(file).stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
