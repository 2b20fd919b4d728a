package io.tollgate.limiter.plan;

import java.util.Map;

/**
 * An API stage a plan covers, with the plan's per-method throttles there.
 *
 * @param api the API's name
 * @param stage the stage's name
 * @param methods throttles keyed {@code "METHOD /route"}, e.g. {@code "GET /pets/{id}"}
 */
public record ApiStage(String api, String stage, Map<String, Throttle> methods) {

  public ApiStage {
    methods = Map.copyOf(methods);
  }

  /** {@code api/stage}, the stage's identity. */
  public String id() {
    return stageId(api, stage);
  }

  /** {@code api/stage}. */
  public static String stageId(String api, String stage) {
    return api + "/" + stage;
  }

  /** {@code "METHOD /route"}, the key of a method throttle. */
  public static String methodKey(String method, String route) {
    return method + " " + route;
  }
}
