package io.tollgate.gateway;

import io.tollgate.gateway.GatewayConfig.Route;
import io.tollgate.gateway.GatewayConfig.Stage;
import java.util.Map;

/** Finds the stage (by path prefix) and the most specific route of a request. */
public final class Router {

  private Router() {}

  /**
   * A matched request.
   *
   * @param routePath the path below the stage prefix, as sent upstream
   * @param params the route's path parameters (raw, percent-encoded)
   */
  public record Match(Stage stage, Route route, String routePath, Map<String, String> params) {}

  /** The match of {@code method} and raw {@code path} (no query), or null: 404. */
  public static Match match(GatewayConfig config, String method, String path) {
    Stage stage = null;
    for (Stage s : config.stages()) {
      if (path.equals(s.prefix()) || path.startsWith(s.prefix() + "/")) {
        if (stage == null || s.prefix().length() > stage.prefix().length()) {
          stage = s;
        }
      }
    }
    if (stage == null) {
      return null;
    }
    String routePath = path.substring(stage.prefix().length());
    if (routePath.isEmpty()) {
      routePath = "/";
    }
    Route best = null;
    Map<String, String> bestParams = null;
    for (Route r : config.routes()) {
      if (!r.method().equals(method) && !r.method().equals("ANY")) {
        continue;
      }
      Map<String, String> params = r.template().match(routePath);
      if (params == null) {
        continue;
      }
      if (best == null || better(r, best)) {
        best = r;
        bestParams = params;
      }
    }
    return best == null ? null : new Match(stage, best, routePath, bestParams);
  }

  private static boolean better(Route r, Route best) {
    int c = r.template().compareSpecificity(best.template());
    if (c != 0) {
      return c < 0;
    }
    // The same template: a route of the exact method beats ANY.
    return !r.method().equals("ANY") && best.method().equals("ANY");
  }
}
