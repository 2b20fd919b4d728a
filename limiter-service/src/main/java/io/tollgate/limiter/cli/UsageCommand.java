package io.tollgate.limiter.cli;

import io.tollgate.api.v1.DailyUsage;
import io.tollgate.api.v1.GetUsageResponse;
import io.tollgate.api.v1.KeyUsage;
import io.tollgate.api.v1.QuotaStatus;
import io.tollgate.api.v1.UpdateUsageRequest;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code tollgate usage --plan ID [--key ID] [--from DAY] [--to DAY]}: requests per key per UTC
 * day, and the quota; {@code usage grant} and {@code usage reset} change the current period.
 */
@Command(name = "usage",
    description = {"Requests per key per UTC day in a plan (default: the last 7 days up to "
        + "today), with each key's quota.",
        "usage grant / usage reset change a key's current quota period."})
final class UsageCommand implements Callable<Integer> {

  /** The default range: today and the six days before it. */
  static final int DEFAULT_DAYS = 7;

  @Spec
  CommandSpec spec;

  @Mixin
  CommonOptions common;

  // Not required in picocli's sense: that would demand it before "grant" and "reset" as well.
  @Option(names = "--plan", paramLabel = "PLAN_ID", description = "The plan (required).")
  String plan;

  @Option(names = "--key", paramLabel = "KEY_ID", description = "Only this key.")
  String key;

  @Option(names = "--from", paramLabel = "YYYY-MM-DD",
      description = "First UTC day (default: 6 days before --to).")
  String from;

  @Option(names = "--to", paramLabel = "YYYY-MM-DD",
      description = "Last UTC day, inclusive (default: today).")
  String to;

  @Override
  public Integer call() throws CommandFailure {
    if (plan == null) {
      throw new ParameterException(spec.commandLine(),
          "Missing required option: '--plan=PLAN_ID'");
    }
    LocalDate[] range = range();
    StringBuilder path = new StringBuilder("/admin/plans/").append(AdminClient.encode(plan))
        .append("/usage?from=").append(range[0]).append("&to=").append(range[1]);
    if (key != null) {
      path.append("&key=").append(AdminClient.encode(key));
    }
    String body = common.client().call("GET", path.toString(), null);
    common.<GetUsageResponse>show(body, GetUsageResponse.newBuilder(), UsageCommand::table);
    return 0;
  }

  /** The first and last day asked for, with the defaults filled in. */
  LocalDate[] range() {
    LocalDate last = to == null ? LocalDate.now(common.root().clock().withZone(ZoneOffset.UTC))
        : day("--to", to);
    LocalDate first = from == null ? last.minusDays(DEFAULT_DAYS - 1) : day("--from", from);
    if (to == null && first.isAfter(last)) {
      last = first;
    }
    if (first.isAfter(last)) {
      throw new ParameterException(spec.commandLine(),
          "--from " + first + " is after --to " + last);
    }
    return new LocalDate[] {first, last};
  }

  private LocalDate day(String option, String value) {
    try {
      return LocalDate.parse(value);
    } catch (DateTimeParseException e) {
      throw new ParameterException(spec.commandLine(),
          option + ": '" + value + "' is not a date YYYY-MM-DD");
    }
  }

  @Command(name = "grant",
      description = "Set what remains of a key's quota in the current period (may exceed the "
          + "limit).")
  int grant(@Mixin CommonOptions options,
      @Option(names = "--plan", paramLabel = "PLAN_ID", required = true,
          description = "The plan.") String planId,
      @Option(names = "--key", paramLabel = "KEY_ID", required = true,
          description = "The key.") String keyId,
      @Option(names = "--remaining", paramLabel = "N", required = true,
          description = "What remains of the current period from now on.") long remaining)
      throws CommandFailure {
    if (remaining < 0) {
      throw new ParameterException(options.mixee.commandLine(),
          "--remaining: " + remaining + " is negative");
    }
    return update(options, planId, keyId, UpdateUsageRequest.newBuilder().setRemaining(remaining));
  }

  @Command(name = "reset",
      description = "Set a key's used count in the current quota period to zero.")
  int reset(@Mixin CommonOptions options,
      @Option(names = "--plan", paramLabel = "PLAN_ID", required = true,
          description = "The plan.") String planId,
      @Option(names = "--key", paramLabel = "KEY_ID", required = true,
          description = "The key.") String keyId)
      throws CommandFailure {
    return update(options, planId, keyId, UpdateUsageRequest.newBuilder().setReset(true));
  }

  private static int update(CommonOptions options, String planId, String keyId,
      UpdateUsageRequest.Builder change) throws CommandFailure {
    String body = options.client().call("POST", "/admin/plans/" + AdminClient.encode(planId)
        + "/usage/" + AdminClient.encode(keyId), change);
    options.<QuotaStatus>show(body, QuotaStatus.newBuilder(), UsageCommand::quota);
    return 0;
  }

  /** A quota period: limit, used, remaining, start and end. */
  static String quota(QuotaStatus q) {
    return new Details()
        .add("limit", q.getLimit())
        .add("used", q.getUsed())
        .add("remaining", q.getRemaining())
        .add("period start", TimeFormat.instant(q.getPeriodStart()))
        .add("period end", TimeFormat.instant(q.getPeriodEnd()))
        .render();
  }

  /**
   * The usage as a table: a title line, then one row per key with each day's requests, the
   * total, and the quota (used/limit, remaining, period end) where the plan has one.
   */
  static String table(GetUsageResponse r) {
    StringBuilder out = new StringBuilder("plan ").append(r.getPlanId())
        .append(": requests per UTC day, ").append(r.getFrom()).append(" to ").append(r.getTo())
        .append('\n');
    if (r.getKeysCount() == 0) {
      return out.append("no keys\n").toString();
    }
    // Day columns are MM-DD when the range is within one year, to keep a week readable.
    boolean oneYear = r.getFrom().length() >= 4 && r.getTo().startsWith(r.getFrom().substring(0, 4));
    List<String> days = new ArrayList<>();
    for (DailyUsage d : r.getKeys(0).getDaysList()) {
      days.add(d.getDate());
    }
    List<String> headers = new ArrayList<>(List.of("KEY", "NAME"));
    for (String d : days) {
      headers.add("#" + (oneYear && d.length() == 10 ? d.substring(5) : d));
    }
    headers.addAll(List.of("#TOTAL", "QUOTA", "#REMAINING", "PERIOD END"));
    Table t = new Table(headers.toArray(String[]::new));
    for (KeyUsage k : r.getKeysList()) {
      List<Object> row = new ArrayList<>(List.of(k.getKeyId(), k.getKeyName()));
      long total = 0;
      for (int i = 0; i < days.size(); i++) {
        long n = i < k.getDaysCount() ? k.getDays(i).getRequests() : 0;
        row.add(n);
        total += n;
      }
      row.add(total);
      if (k.hasQuota()) {
        QuotaStatus q = k.getQuota();
        row.add(q.getUsed() + "/" + q.getLimit());
        row.add(q.getRemaining());
        row.add(TimeFormat.instant(q.getPeriodEnd()));
      } else {
        row.add(null);
        row.add(null);
        row.add(null);
      }
      t.row(row.toArray());
    }
    return out.append(t.render()).toString();
  }
}
