package io.tollgate.limiter.cli;

import io.tollgate.api.v1.ApiStage;
import io.tollgate.api.v1.ListPlansResponse;
import io.tollgate.api.v1.Quota;
import io.tollgate.api.v1.Throttle;
import io.tollgate.api.v1.UsagePlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tollgate plans list|get|create|delete}: usage plans. */
@Command(name = "plans", description = "Usage plans: list, get, create, delete.",
    usageHelpWidth = 100,
    subcommands = PlansCommand.Create.class)
final class PlansCommand {

  @Command(name = "list", description = "List the plans.")
  int list(@Mixin CommonOptions common) throws CommandFailure {
    String body = common.client().call("GET", "/admin/plans", null);
    common.<ListPlansResponse>show(body, ListPlansResponse.newBuilder(),
        r -> table(r.getPlansList()));
    return 0;
  }

  @Command(name = "get", description = "Show one plan.")
  int get(@Mixin CommonOptions common, @Parameters(paramLabel = "ID") String id)
      throws CommandFailure {
    String body = common.client().call("GET", "/admin/plans/" + AdminClient.encode(id), null);
    common.<UsagePlan>show(body, UsagePlan.newBuilder(), PlansCommand::describe);
    return 0;
  }

  @Command(name = "delete", description = "Delete a plan (it must have no keys).")
  int delete(@Mixin CommonOptions common, @Parameters(paramLabel = "ID") String id)
      throws CommandFailure {
    String body = common.client().call("DELETE", "/admin/plans/" + AdminClient.encode(id), null);
    if (common.json) {
      common.printRaw(body);
    } else {
      common.out().println("plan " + id + " deleted");
    }
    return 0;
  }

  /** {@code plans create}: from flags or from a UsagePlan JSON file. */
  @Command(name = "create",
      description = {"Create a plan, from flags or from a UsagePlan JSON file (--file).",
          "Example: plans create --id basic --rate 5 --burst 10 --quota 10000 --period DAY "
              + "--stage petstore/prod"})
  static final class Create implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--file", paramLabel = "PLAN.json",
        description = "A UsagePlan in proto3 JSON; no other plan flags then.")
    Path file;

    @Option(names = "--id", paramLabel = "ID", description = "Letters, digits, '-' and '_'; 1 to 64 characters.")
    String id;

    @Option(names = "--name", paramLabel = "NAME", description = "Display name.")
    String name;

    @Option(names = "--description", paramLabel = "TEXT")
    String description;

    @Option(names = "--rate", paramLabel = "PER_SECOND",
        description = "Throttle per key: requests per second (with --burst).")
    Double rate;

    @Option(names = "--burst", paramLabel = "N", description = "Throttle per key: bucket size (with --rate).")
    Long burst;

    @Option(names = "--quota", paramLabel = "LIMIT",
        description = "Quota per key: requests per period (with --period).")
    Long quota;

    @Option(names = "--period", paramLabel = "DAY|WEEK|MONTH",
        description = "The quota's period.")
    String period;

    @Option(names = "--offset", paramLabel = "DAYS",
        description = "Days into the period where it starts: WEEK 0 (Sunday) to 6, "
            + "MONTH 0 (the 1st) to 27.")
    Integer offset;

    @Option(names = "--time-zone", paramLabel = "ZONE",
        description = "Periods start at midnight in this IANA zone (default UTC).")
    String timeZone;

    @Option(names = "--stage", paramLabel = "API/STAGE",
        description = "A stage the plan covers, e.g. petstore/prod; repeatable.")
    List<String> stages = new ArrayList<>();

    @Override
    public Integer call() throws CommandFailure {
      UsagePlan plan = plan();
      String body = common.client().call("POST", "/admin/plans", plan);
      common.<UsagePlan>show(body, UsagePlan.newBuilder(), PlansCommand::describe);
      return 0;
    }

    /**
     * The plan the flags describe.
     *
     * @throws ParameterException for flags that do not make a plan
     * @throws CommandFailure when --file cannot be read or is not a UsagePlan
     */
    UsagePlan plan() throws CommandFailure {
      if (file != null) {
        if (id != null || name != null || description != null || rate != null || burst != null
            || quota != null || period != null || offset != null || timeZone != null
            || !stages.isEmpty()) {
          throw usage("--file: give the whole plan in the file, no other plan flags");
        }
        String text;
        try {
          text = Files.readString(file);
        } catch (IOException e) {
          throw new CommandFailure("cannot read --file " + file + ": " + e);
        }
        try {
          UsagePlan.Builder b = UsagePlan.newBuilder();
          com.google.protobuf.util.JsonFormat.parser().merge(text, b);
          return b.build();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new CommandFailure(file + " is not a UsagePlan: " + e.getMessage());
        }
      }
      if (id == null) {
        throw usage("Missing required option: '--id' (or --file)");
      }
      UsagePlan.Builder b = UsagePlan.newBuilder().setId(id);
      if (name != null) {
        b.setName(name);
      }
      if (description != null) {
        b.setDescription(description);
      }
      if ((rate == null) != (burst == null)) {
        throw usage("--rate and --burst go together");
      }
      if (rate != null) {
        b.setThrottle(Throttle.newBuilder().setRate(rate).setBurst(burst));
      }
      if (quota == null && (period != null || offset != null || timeZone != null)) {
        throw usage("--period, --offset and --time-zone need --quota");
      }
      if (quota != null) {
        if (period == null) {
          throw usage("--quota needs --period DAY|WEEK|MONTH");
        }
        String p = period.toUpperCase(Locale.ROOT);
        if (!List.of("DAY", "WEEK", "MONTH").contains(p)) {
          throw usage("--period: '" + period + "' is not DAY, WEEK or MONTH");
        }
        Quota.Builder q = Quota.newBuilder().setLimit(quota).setPeriod(p);
        if (offset != null) {
          q.setOffset(offset);
        }
        if (timeZone != null) {
          q.setTimeZone(timeZone);
        }
        b.setQuota(q);
      }
      if (stages.isEmpty()) {
        throw usage("Missing required option: '--stage=API/STAGE'");
      }
      for (String s : stages) {
        int slash = s.indexOf('/');
        if (slash <= 0 || slash == s.length() - 1 || s.indexOf('/', slash + 1) >= 0) {
          throw usage("--stage: '" + s + "' is not API/STAGE, e.g. petstore/prod");
        }
        b.addApiStages(ApiStage.newBuilder().setApi(s.substring(0, slash))
            .setStage(s.substring(slash + 1)));
      }
      return b.build();
    }

    private ParameterException usage(String message) {
      return new ParameterException(spec.commandLine(), message);
    }
  }

  /** The plans as a table: id, name, throttle, quota, stages, source. */
  static String table(List<UsagePlan> plans) {
    if (plans.isEmpty()) {
      return "no plans\n";
    }
    Table t = new Table("ID", "NAME", "THROTTLE", "QUOTA", "STAGES", "SOURCE");
    for (UsagePlan p : plans) {
      List<String> stages = new ArrayList<>();
      for (ApiStage s : p.getApiStagesList()) {
        stages.add(s.getApi() + "/" + s.getStage());
      }
      t.row(p.getId(), p.getName(), p.hasThrottle() ? throttle(p.getThrottle()) : null,
          p.hasQuota() ? quota(p.getQuota()) : null, String.join(",", stages),
          p.getDeclaredInConfig() ? "config" : "api");
    }
    return t.render();
  }

  /** One plan, field by field, with each stage's method throttles. */
  static String describe(UsagePlan p) {
    StringBuilder stages = new StringBuilder();
    for (ApiStage s : p.getApiStagesList()) {
      if (stages.length() > 0) {
        stages.append('\n');
      }
      stages.append(s.getApi()).append('/').append(s.getStage());
      Map<String, Throttle> methods = new TreeMap<>(s.getMethodsMap());
      for (Map.Entry<String, Throttle> m : methods.entrySet()) {
        stages.append("\n  ").append(m.getKey()).append(": ").append(throttle(m.getValue()));
      }
    }
    return new Details()
        .add("id", p.getId())
        .add("name", p.getName())
        .add("description", p.getDescription())
        .add("throttle", p.hasThrottle() ? throttle(p.getThrottle()) : "none")
        .add("quota", p.hasQuota() ? quota(p.getQuota()) : "none")
        .add("stages", stages)
        .add("source", p.getDeclaredInConfig() ? "config (read-only)" : "api")
        .render();
  }

  /** {@code 5/s burst 10}. */
  static String throttle(Throttle t) {
    return TimeFormat.decimal(t.getRate()) + "/s burst " + t.getBurst();
  }

  /** {@code 10000/DAY}, with the offset and zone when they are not the defaults. */
  static String quota(Quota q) {
    StringBuilder s = new StringBuilder().append(q.getLimit()).append('/').append(q.getPeriod());
    if (q.getOffset() != 0) {
      s.append(" +").append(q.getOffset()).append('d');
    }
    if (!q.getTimeZone().isEmpty() && !q.getTimeZone().equals("UTC")) {
      s.append(' ').append(q.getTimeZone());
    }
    return s.toString();
  }
}
