package io.tollgate.limiter.plan;

import java.util.List;
import java.util.Map;

/**
 * The usage-plan part of the YAML config: the account throttle, stage and method throttles, and
 * the plans and keys declared for GitOps.
 *
 * @param accountThrottle the throttle over every check of the account
 * @param stages stage settings keyed by {@link StageSettings#id()}
 * @param plans declared plans, keyed by id
 * @param keys declared keys, keyed by hash
 */
public record PlanConfig(Throttle accountThrottle, Map<String, StageSettings> stages,
    Map<String, UsagePlan> plans, Map<String, ApiKey> keys) {

  /** The account's default throttle: 10,000 requests per second, burst 5,000. */
  public static final Throttle DEFAULT_ACCOUNT_THROTTLE = new Throttle(10_000, 5_000);

  /** No stages, plans or keys; the default account throttle. */
  public static final PlanConfig DEFAULT =
      new PlanConfig(DEFAULT_ACCOUNT_THROTTLE, Map.of(), Map.of(), Map.of());

  public PlanConfig {
    stages = Map.copyOf(stages);
    plans = Map.copyOf(plans);
    keys = Map.copyOf(keys);
  }

  /** The declared keys, in id order. */
  public List<ApiKey> keyList() {
    return keys.values().stream().sorted(java.util.Comparator.comparing(ApiKey::id)).toList();
  }
}
