package io.tollgate.limiter.api;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The most connections the gRPC port holds open at once. grpc-java has no such bound, so it is
 * kept on the listening socket: a connection accepted past it is closed at once, before a byte of
 * it is read or a handler is set up for it, and counted as refused. Clients see the connection
 * close and, like any gRPC client, retry with backoff.
 */
public final class GrpcConnectionLimit {

  private final int max;
  private final AtomicInteger open = new AtomicInteger();
  private final LongAdder refused = new LongAdder();
  private final Gate gate = new Gate();

  public GrpcConnectionLimit(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max " + max + " is below 1");
    }
    this.max = max;
  }

  /** Makes the port's listening socket, with the bound in front of the connections it accepts. */
  public ChannelFactory<ServerChannel> channelFactory() {
    return () -> {
      NioServerSocketChannel listener = new NioServerSocketChannel();
      // First in the pipeline: the acceptor that sets a connection up is added behind it when
      // the listener is registered.
      listener.pipeline().addLast(gate);
      return listener;
    };
  }

  /** Connections closed on accept because {@link #max} were open. */
  public long refusedConnections() {
    return refused.sum();
  }

  @Sharable
  private final class Gate extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Channel connection = (Channel) msg;
      if (open.incrementAndGet() > max) {
        open.decrementAndGet();
        refused.increment();
        // Not registered with an event loop yet: closed here, directly.
        connection.unsafe().closeForcibly();
        return;
      }
      connection.closeFuture().addListener(f -> open.decrementAndGet());
      ctx.fireChannelRead(connection);
    }
  }
}
