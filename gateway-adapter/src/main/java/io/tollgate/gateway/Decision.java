package io.tollgate.gateway;

import io.tollgate.api.v1.CheckResponse;

/**
 * What the adapter does with a request after asking the limiter.
 *
 * @param verdict what to do
 * @param response the limiter's answer; null when it gave none
 * @param failure why the limiter gave no answer (a metric label); null when it answered
 */
public record Decision(Verdict verdict, CheckResponse response, String failure) {

  /** The adapter's action. */
  public enum Verdict {
    /** Go on to the cache and the upstream. */
    ALLOW,
    /** 429 Too Many Requests. */
    THROTTLED,
    /** 429 Limit Exceeded. */
    QUOTA_EXCEEDED,
    /** 403 Forbidden. */
    FORBIDDEN,
    /**
     * The limiter refused the request as invalid (e.g. {@code INVALID_ARGUMENT}): 403 when a key
     * was sent, else 400. The limiter is up; never fail_open.
     */
    REJECTED,
    /** No answer from the limiter, fail_open: go on, without rate-limit headers. */
    ALLOW_UNCHECKED,
    /** No answer from the limiter, fail_closed: 503. */
    UNAVAILABLE
  }
}
