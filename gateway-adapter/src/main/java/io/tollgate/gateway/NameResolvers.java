package io.tollgate.gateway;

import com.linecorp.armeria.common.util.EventLoopGroups;
import io.netty.channel.EventLoopGroup;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;

/** Host-name lookups for the connections the adapter opens itself. */
final class NameResolvers {

  private NameResolvers() {}

  /**
   * A resolver that looks names up without blocking the event loop: the hosts file first, then
   * DNS, with the answers' own TTLs. Netty's default asks the JVM, which blocks the loop, and so
   * every request on it, for as long as a lookup takes (seconds when DNS does not answer).
   * Close it when done.
   */
  static DnsAddressResolverGroup forLoops(EventLoopGroup group) {
    return new DnsAddressResolverGroup(new DnsNameResolverBuilder()
        .datagramChannelType(EventLoopGroups.datagramChannelType(group)));
  }
}
