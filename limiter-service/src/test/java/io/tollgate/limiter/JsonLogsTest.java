package io.tollgate.limiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tollgate.limiter.testing.FreePorts;
import io.tollgate.limiter.testing.LimiterProcess;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code --log-format json}: every line the limiter logs is one JSON object. */
class JsonLogsTest {

  private static Path rules() throws Exception {
    return Path.of(JsonLogsTest.class.getResource("/service/rules.yaml").toURI());
  }

  @Test
  void jsonLogsAreOneObjectPerLine() throws Exception {
    try (LimiterProcess p = LimiterProcess.start("json-logs", rules(), FreePorts.next(),
        "--log-format", "json")) {
      p.awaitReady(Duration.ofSeconds(120));
      assertEquals(0, p.terminate(Duration.ofSeconds(60)));
      boolean ready = false;
      for (String line : p.log().split("\n")) {
        if (line.isBlank()) {
          continue;
        }
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        for (String field : new String[] {"time", "level", "logger", "thread", "message"}) {
          assertTrue(o.has(field), field + " missing in " + line);
        }
        ready |= o.get("message").getAsString().equals("ready")
            && o.get("level").getAsString().equals("INFO");
      }
      assertTrue(ready, "no INFO 'ready' line in\n" + p.log());
    }
  }

  @Test
  void anUnknownLogFormatIsBadUsage() throws Exception {
    LimiterProcess.Result r = LimiterProcess.run(Duration.ofSeconds(60), "--config",
        rules().toString(), "--log-format", "xml");
    assertEquals(2, r.exitCode(), r.output());
    assertTrue(r.output().contains("--log-format: 'xml' is not text or json"), r.output());
  }
}
