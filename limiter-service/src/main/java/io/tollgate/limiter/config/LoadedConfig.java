package io.tollgate.limiter.config;

import io.tollgate.limiter.plan.PlanConfig;
import io.tollgate.limiter.rule.RuleSet;

/**
 * Everything one read of the config files gives: the rules of the rule files and the plans of the
 * plans file. Loaded, and replaced on reload, as one; a bad file keeps both at their last good
 * values.
 *
 * @param rules the rules of every rule file
 * @param plans the plans file's content, or {@link PlanConfig#DEFAULT} when there is none
 */
public record LoadedConfig(RuleSet rules, PlanConfig plans) {

  public LoadedConfig {
    java.util.Objects.requireNonNull(rules, "rules");
    java.util.Objects.requireNonNull(plans, "plans");
  }
}
