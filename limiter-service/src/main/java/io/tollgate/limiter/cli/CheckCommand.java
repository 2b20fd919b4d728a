package io.tollgate.limiter.cli;

import io.tollgate.api.v1.CheckRequest;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.LimitStatus;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tollgate check --key VALUE --api A --stage S --method M --route R}: one usage-plan
 * check, counted like a real request. Exits 0 when allowed, 1 when denied.
 */
@Command(name = "check",
    description = {"Run one check (POST /v1/check); it counts like a real request.",
        "Exit code 0 when allowed, 1 when denied (throttled, quota exceeded or forbidden)."})
final class CheckCommand implements Callable<Integer> {

  @Mixin
  CommonOptions common;

  @Option(names = "--key", paramLabel = "VALUE",
      description = "The API key's value, as a caller presents it; omit for none.")
  String key;

  @Option(names = "--key-required", description = "A missing key is FORBIDDEN.")
  boolean keyRequired;

  @Option(names = "--api", required = true, description = "The API, e.g. petstore.")
  String api;

  @Option(names = "--stage", required = true, description = "The stage, e.g. prod.")
  String stage;

  @Option(names = "--method", required = true, description = "The HTTP method, e.g. GET.")
  String method;

  @Option(names = "--route", required = true,
      description = "The route template that matched, e.g. /pets/{id}.")
  String route;

  @Option(names = "--cost", defaultValue = "1",
      description = "Units the request costs (default ${DEFAULT-VALUE}).")
  int cost;

  @Override
  public Integer call() throws CommandFailure {
    CheckRequest request = request();
    AdminClient.Reply reply = common.client().send("POST", "/v1/check", request);
    // 200 allowed, 429 throttled or over quota, 403 forbidden: all three are answers.
    if (reply.status() != 200 && reply.status() != 429 && reply.status() != 403) {
      throw AdminClient.failure(reply);
    }
    CheckResponse response = AdminClient.parse(reply.body(), CheckResponse.newBuilder());
    if (response.getReason() == CheckResponse.Reason.REASON_UNSPECIFIED) {
      // A 403 from something that is not a limiter, or an error body.
      throw AdminClient.failure(reply);
    }
    if (common.json) {
      common.printRaw(reply.body());
    } else {
      common.out().print(describe(response));
      common.out().flush();
    }
    return response.getAllowed() ? 0 : 1;
  }

  /** The request the flags describe. */
  CheckRequest request() {
    CheckRequest.Builder b = CheckRequest.newBuilder().setApi(api).setStage(stage)
        .setMethod(method).setRoute(route).setKeyRequired(keyRequired).setCost(cost);
    if (key != null) {
      b.setApiKey(key);
    }
    return b.build();
  }

  /** The answer: allowed, reason, remaining tokens and quota, retry after. */
  static String describe(CheckResponse r) {
    Details d = new Details()
        .add("allowed", r.getAllowed())
        .add("reason", r.getReason());
    if (!r.getMessage().isEmpty()) {
      d.add("message", r.getMessage());
    }
    if (!r.getKeyId().isEmpty()) {
      d.add("key", r.getKeyId());
      d.add("plan", r.getPlanId());
    }
    d.add("remaining tokens", r.hasThrottle() ? throttle(r.getThrottle()) : null);
    d.add("remaining quota", r.hasQuota() ? quota(r.getQuota()) : null);
    d.add("retry after", r.hasRetryAfter() ? TimeFormat.duration(r.getRetryAfter()) : null);
    return d.render();
  }

  private static String throttle(LimitStatus s) {
    return s.getRemaining() + " of " + s.getLimit() + " (" + s.getLevel() + ", "
        + TimeFormat.decimal(s.getRate()) + "/s"
        + (s.hasResetAfter() ? ", full in " + TimeFormat.duration(s.getResetAfter()) : "") + ")";
  }

  private static String quota(LimitStatus s) {
    return s.getRemaining() + " of " + s.getLimit()
        + (s.hasResetAfter() ? " (period ends in " + TimeFormat.duration(s.getResetAfter()) + ")"
            : "");
  }
}
