package io.tollgate.limiter.rule;

import java.util.List;
import java.util.Objects;

/**
 * A domain's settings for Envoy's Rate Limit Quota Service, from the {@code rlqs:} block of its
 * rule file.
 *
 * @param keyOrder how a reported bucket's entries become one descriptor: keys named here come
 *     first, in this order, then every other key sorted by name; empty sorts every key by name
 * @param unmatched what a bucket that matches no limit of this domain gets: {@code "allow_all"},
 *     {@code "deny_all"}, or empty for the server's {@code --rlqs-unmatched}
 * @param minShare the least units per window a reporting proxy is given when the limit allows it;
 *     0 for the default (1)
 */
public record RlqsDomain(List<String> keyOrder, String unmatched, long minShare) {

  /** The settings of a domain without an {@code rlqs:} block. */
  public static final RlqsDomain DEFAULT = new RlqsDomain(List.of(), "", 0);

  public RlqsDomain {
    keyOrder = List.copyOf(keyOrder);
    Objects.requireNonNull(unmatched, "unmatched");
  }
}
