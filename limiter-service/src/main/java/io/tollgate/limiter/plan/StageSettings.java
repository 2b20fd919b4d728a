package io.tollgate.limiter.plan;

import java.util.Map;

/**
 * The throttles of one API stage for all its callers, below the account's.
 *
 * @param api the API's name
 * @param stage the stage's name
 * @param throttle the stage's throttle; {@code null} for the account's only
 * @param methods per-method throttles keyed {@code "METHOD /route"}
 */
public record StageSettings(String api, String stage, Throttle throttle,
    Map<String, Throttle> methods) {

  public StageSettings {
    methods = Map.copyOf(methods);
  }

  /** {@code api/stage}. */
  public String id() {
    return ApiStage.stageId(api, stage);
  }
}
