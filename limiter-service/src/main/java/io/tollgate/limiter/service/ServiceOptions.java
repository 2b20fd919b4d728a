package io.tollgate.limiter.service;

/**
 * Settings of the decision logic.
 *
 * @param nearLimitRatio the share of a limit above which allowed units count as near the limit
 * @param globalShadowMode report OK even when a limit is over (counting stays as it is)
 * @param responseHeaders add {@code RateLimit-Limit}, {@code RateLimit-Remaining} and
 *     {@code RateLimit-Reset} to responses, for the descriptor closest to its limit
 */
public record ServiceOptions(
    double nearLimitRatio, boolean globalShadowMode, boolean responseHeaders) {

  /** The defaults: ratio 0.8, no global shadow mode, no headers. */
  public static final ServiceOptions DEFAULTS = new ServiceOptions(0.8, false, false);

  public ServiceOptions {
    if (!(nearLimitRatio > 0 && nearLimitRatio <= 1)) {
      throw new IllegalArgumentException("nearLimitRatio must be in (0, 1], was " + nearLimitRatio);
    }
  }
}
