package io.tollgate.limiter.plan;

import java.util.List;

/**
 * A usage plan: the throttle and quota each of its keys gets on the API stages it covers.
 *
 * @param id letters, digits, '-' and '_', 1 to 64 characters
 * @param name display name, may be empty
 * @param description may be empty
 * @param throttle per key; {@code null} for none
 * @param quota per key; {@code null} for none (usage is still counted)
 * @param apiStages the stages covered, each at most once
 * @param declared whether the plan comes from the YAML config (read-only through the API)
 */
public record UsagePlan(String id, String name, String description, Throttle throttle,
    Quota quota, List<ApiStage> apiStages, boolean declared) {

  public UsagePlan {
    apiStages = List.copyOf(apiStages);
  }

  /** The stage of this plan with the given identity, or {@code null}. */
  public ApiStage stage(String api, String stage) {
    for (ApiStage s : apiStages) {
      if (s.api().equals(api) && s.stage().equals(stage)) {
        return s;
      }
    }
    return null;
  }
}
