package io.tollgate.limiter.cli;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tollgate counters --domain D --descriptor k=v,k2=v2 [--reset]}: the counters of the rules
 * one descriptor matches ({@code GET /admin/counters}), or their reset ({@code DELETE}).
 */
@Command(name = "counters",
    description = {"Show the counters of the rules a descriptor matches (GET /admin/counters);",
        "with --reset, reset them so the next request sees full limits."})
final class CountersCommand implements Callable<Integer> {

  @Mixin
  CommonOptions common;

  @Option(names = "--domain", required = true, description = "The domain, e.g. edge.")
  String domain;

  @Option(names = "--descriptor", required = true, paramLabel = "KEY=VALUE,...",
      description = "The descriptor's entries in order, e.g. remote_address=10.0.0.1.")
  String descriptor;

  @Option(names = "--reset", description = "Reset the counters, then show them.")
  boolean reset;

  @Override
  public Integer call() throws CommandFailure {
    String path = "/admin/counters?domain=" + URLEncoder.encode(domain, StandardCharsets.UTF_8)
        + "&descriptor=" + URLEncoder.encode(descriptor, StandardCharsets.UTF_8);
    String body = common.client().call(reset ? "DELETE" : "GET", path, null);
    if (common.json) {
      common.printRaw(body);
      return 0;
    }
    Struct answer = AdminClient.parse(body, Struct.newBuilder());
    Table t = new Table("RULE", "ALGORITHM", "#LIMIT", "#REMAINING", "#RESET IN (S)", "SHADOW");
    Value counters = answer.getFieldsMap().get("counters");
    if (counters != null) {
      for (Value v : counters.getListValue().getValuesList()) {
        var f = v.getStructValue().getFieldsMap();
        t.row(text(f.get("rule")), text(f.get("algorithm")), number(f.get("limit")),
            number(f.get("remaining")), number(f.get("reset_after_seconds")),
            f.containsKey("shadow_mode") && f.get("shadow_mode").getBoolValue() ? "yes" : "no");
      }
    }
    common.out().print((reset ? "reset; now:\n" : "") + t.render());
    common.out().flush();
    return 0;
  }

  private static String text(Value v) {
    return v == null ? null : v.getStringValue();
  }

  private static String number(Value v) {
    return v == null ? null : Long.toString((long) v.getNumberValue());
  }
}
