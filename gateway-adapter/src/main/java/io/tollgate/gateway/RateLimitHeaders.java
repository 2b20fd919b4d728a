package io.tollgate.gateway;

import com.google.protobuf.Duration;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import io.tollgate.api.v1.CheckResponse;
import io.tollgate.api.v1.LimitStatus;

/**
 * The rate-limit response headers of a checked request, from the limiter's answer.
 *
 * <ul>
 *   <li>IETF {@code RateLimit-Policy} and {@code RateLimit} (draft-ietf-httpapi-ratelimit-headers,
 *       structured-field form): one item per policy, {@code "throttle"} (the tightest token
 *       bucket: {@code q} its burst, {@code w} the seconds it takes to refill completely) and
 *       {@code "quota"} ({@code q} the requests per period, {@code w} the period in seconds);
 *       {@code r} is what remains and {@code t} the seconds until it resets.</li>
 *   <li>{@code X-RateLimit-Limit}, {@code -Remaining}, {@code -Reset} (as Kong and Envoy send
 *       them) for the binding policy: the one that denied, else the one with fewer left.</li>
 *   <li>{@code Retry-After} in whole seconds (rounded up, at least 1) on a denial.</li>
 * </ul>
 */
public final class RateLimitHeaders {

  private RateLimitHeaders() {}

  /** Adds the headers of {@code r} (the limiter's answer) to {@code h}. */
  public static void add(ResponseHeadersBuilder h, CheckResponse r, boolean denied) {
    boolean throttle = r.hasThrottle();
    boolean quota = r.hasQuota();
    if (!throttle && !quota) {
      return;
    }
    StringBuilder policy = new StringBuilder();
    StringBuilder state = new StringBuilder();
    if (throttle) {
      LimitStatus t = r.getThrottle();
      long window = t.getRate() > 0 ? (long) Math.ceil(t.getLimit() / t.getRate()) : 1;
      policy.append("\"throttle\";q=").append(t.getLimit()).append(";w=").append(Math.max(1,
          window));
      state.append("\"throttle\";r=").append(t.getRemaining()).append(";t=")
          .append(ceilSeconds(t.getResetAfter()));
    }
    if (quota) {
      LimitStatus q = r.getQuota();
      if (throttle) {
        policy.append(", ");
        state.append(", ");
      }
      policy.append("\"quota\";q=").append(q.getLimit()).append(";w=")
          .append(ceilSeconds(q.getWindow()));
      state.append("\"quota\";r=").append(q.getRemaining()).append(";t=")
          .append(ceilSeconds(q.getResetAfter()));
    }
    h.set("ratelimit-policy", policy.toString());
    h.set("ratelimit", state.toString());

    LimitStatus binding;
    if (!quota) {
      binding = r.getThrottle();
    } else if (!throttle) {
      binding = r.getQuota();
    } else if (r.getReason() == CheckResponse.Reason.THROTTLED) {
      binding = r.getThrottle();
    } else if (r.getReason() == CheckResponse.Reason.QUOTA_EXCEEDED) {
      binding = r.getQuota();
    } else {
      binding = r.getQuota().getRemaining() <= r.getThrottle().getRemaining()
          ? r.getQuota() : r.getThrottle();
    }
    h.set("x-ratelimit-limit", Long.toString(binding.getLimit()));
    h.set("x-ratelimit-remaining", Long.toString(binding.getRemaining()));
    h.set("x-ratelimit-reset", Long.toString(ceilSeconds(binding.getResetAfter())));
    if (denied && r.hasRetryAfter()) {
      h.set("retry-after", Long.toString(Math.max(1, ceilSeconds(r.getRetryAfter()))));
    }
  }

  /** Whole seconds, rounded up. */
  static long ceilSeconds(Duration d) {
    return d.getSeconds() + (d.getNanos() > 0 ? 1 : 0);
  }
}
