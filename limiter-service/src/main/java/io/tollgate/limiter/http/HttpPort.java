package io.tollgate.limiter.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The limiter's HTTP/1.1 port on Netty: a few event-loop threads serve every connection, so
 * connections that idle or send a request slowly cost a little memory each and never hold a
 * thread that health checks need.
 *
 * <p>Implementation notes. A request is read in full before a handler sees it ({@link Exchange});
 * a body over {@link #MAX_BODY_BYTES} is refused with 413 and the reason, whether its length was
 * declared or chunked, and the connection closes. Bounds, each with its answer:
 *
 * <ul>
 *   <li>request deadline: from a request's first byte to its last may take at most
 *       {@code requestTimeoutMillis}; after that the client gets 408 and the connection closes
 *       (a client that trickles a request line no longer keeps anything busy, but it would keep a
 *       connection open forever);
 *   <li>idle timeout: a connection with no request in progress and no bytes for
 *       {@code idleTimeoutMillis} is closed;
 *   <li>connections: past {@code maxConnections} open at once, new ones are closed at once;
 *   <li>request line 8 KiB, headers 16 KiB (431/414 are not worth telling apart: 400 with the
 *       reason);
 *   <li>pipelining: answers go out in request order; with {@link #MAX_PIPELINED} requests
 *       unanswered on one connection, reading from it pauses.
 * </ul>
 */
public final class HttpPort implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(HttpPort.class.getName());

  /** Largest accepted request body: a request within every bound is far smaller. */
  public static final int MAX_BODY_BYTES = 64 * 1024;
  static final int MAX_INITIAL_LINE_BYTES = 8 * 1024;
  static final int MAX_HEADER_BYTES = 16 * 1024;
  static final int MAX_PIPELINED = 16;

  /** How requests and connections are bounded; see the class comment. */
  public record Limits(long requestTimeoutMillis, long idleTimeoutMillis, int maxConnections) {}

  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Channel channel;
  private final AtomicInteger open = new AtomicInteger();

  /**
   * Binds the port and starts serving.
   *
   * @param tls the server TLS context, or {@code null} for plain HTTP; read for each new
   *     connection, so a reloaded context applies to connections made after the reload
   * @param router answers each request; runs on an event loop and must not block
   */
  public HttpPort(InetSocketAddress address, Limits limits, Supplier<SslContext> tls,
      Consumer<Exchange> router) throws InterruptedException {
    // One acceptor thread; two workers: each request's own work is small and the grid calls are
    // asynchronous, so more threads would only add switching on a small machine.
    boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    workers = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    ServerBootstrap b = new ServerBootstrap().group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (open.incrementAndGet() > limits.maxConnections()) {
              open.decrementAndGet();
              ch.close();
              return;
            }
            ch.closeFuture().addListener(f -> open.decrementAndGet());
            ChannelPipeline p = ch.pipeline();
            SslContext ssl = tls == null ? null : tls.get();
            Connection connection = new Connection(router, limits.requestTimeoutMillis());
            p.addLast("idle", new IdleStateHandler(0, 0, limits.idleTimeoutMillis(),
                TimeUnit.MILLISECONDS));
            p.addLast("deadline", connection.watch);
            if (ssl != null) {
              p.addLast("tls", ssl.newHandler(ch.alloc()));
            }
            p.addLast("codec", new HttpServerCodec(MAX_INITIAL_LINE_BYTES, MAX_HEADER_BYTES,
                8 * 1024));
            p.addLast("aggregate", new CappedAggregator(connection));
            p.addLast("exchange", connection);
          }
        });
    try {
      channel = b.bind(address).sync().channel();
    } catch (InterruptedException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** The bound port. */
  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  /** Connections open now. */
  public int openConnections() {
    return open.get();
  }

  /** Stops accepting, closes every connection after at most {@code quietMillis}. */
  public void stop(long quietMillis) {
    if (channel != null) {
      channel.close().awaitUninterruptibly(1_000);
    }
    boss.shutdownGracefully(0, quietMillis, TimeUnit.MILLISECONDS);
    workers.shutdownGracefully(Math.min(100, quietMillis), quietMillis, TimeUnit.MILLISECONDS)
        .awaitUninterruptibly(quietMillis + 1_000);
  }

  @Override
  public void close() {
    stop(0);
  }

  private static FullHttpResponse response(int status, HttpHeaders headers, byte[] body) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(body));
    if (headers != null) {
      r.headers().set(headers);
    }
    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    return r;
  }

  private static byte[] text(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The aggregator, answering an oversized body with 413 and the reason. */
  private static final class CappedAggregator extends HttpObjectAggregator {
    private final Connection connection;

    CappedAggregator(Connection connection) {
      super(MAX_BODY_BYTES, true);
      this.connection = connection;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      connection.refuse(ctx, 413, "request body is larger than " + MAX_BODY_BYTES + " bytes\n");
    }
  }

  /**
   * One connection: its request deadline, and its exchanges in arrival order so answers go out
   * in that order. Every field is touched on the connection's event loop only.
   */
  private static final class Connection extends ChannelInboundHandlerAdapter {

    private final Consumer<Exchange> router;
    private final long requestTimeoutMillis;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    /** Sees raw bytes before any decoding: a request's first byte starts its deadline. */
    final ChannelInboundHandlerAdapter watch = new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (deadline == null && !closing && msg instanceof ByteBuf b && b.isReadable()) {
          deadline = ctx.executor().schedule(() -> expire(ctx), requestTimeoutMillis,
              TimeUnit.MILLISECONDS);
        }
        ctx.fireChannelRead(msg);
      }
    };
    private ScheduledFuture<?> deadline;
    private boolean closing;
    private ChannelHandlerContext ctx;

    Connection(Consumer<Exchange> router, long requestTimeoutMillis) {
      this.router = router;
      this.requestTimeoutMillis = requestTimeoutMillis;
    }

    private static final class Pending {
      final Exchange exchange;
      final boolean keepAlive;
      FullHttpResponse response;

      Pending(Exchange exchange, boolean keepAlive) {
        this.exchange = exchange;
        this.keepAlive = keepAlive;
      }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof FullHttpRequest request)) {
        ctx.fireChannelRead(msg);
        return;
      }
      try {
        cancelDeadline();
        if (closing) {
          return;
        }
        if (request.decoderResult().isFailure()) {
          refuse(ctx, 400, "malformed request: " + request.decoderResult().cause().getMessage()
              + "\n");
          return;
        }
        byte[] body = ByteBufUtil.getBytes(request.content());
        Exchange exchange = new Exchange(request.method().name(), request.uri(),
            request.headers(), body, ctx.executor(),
            (e, status, headers, bytes) -> {
              FullHttpResponse r = response(status, headers, bytes);
              if (ctx.executor().inEventLoop()) {
                answered(e, r);
              } else {
                ctx.executor().execute(() -> answered(e, r));
              }
            });
        Pending p = new Pending(exchange, HttpUtil.isKeepAlive(request));
        pending.add(p);
        if (pending.size() >= MAX_PIPELINED) {
          ctx.channel().config().setAutoRead(false);
        }
        try {
          router.accept(exchange);
        } catch (RuntimeException e) {
          LOG.warning("HTTP handler failed: " + e);
          exchange.respond(500, "text/plain", "internal error\n");
        }
      } finally {
        request.release();
      }
    }

    private void answered(Exchange e, FullHttpResponse r) {
      for (Pending p : pending) {
        if (p.exchange == e) {
          p.response = r;
          break;
        }
      }
      flush();
    }

    /** Writes the answers at the head of the line that are ready. */
    private void flush() {
      boolean wrote = false;
      while (!pending.isEmpty() && pending.peek().response != null) {
        Pending p = pending.poll();
        wrote = true;
        if (p.keepAlive && !closing) {
          p.response.headers().set(HttpHeaderNames.CONNECTION, "keep-alive");
          ctx.write(p.response);
        } else {
          p.response.headers().set(HttpHeaderNames.CONNECTION, "close");
          closing = true;
          ctx.writeAndFlush(p.response).addListener(ChannelFutureListener.CLOSE);
          pending.clear();
          return;
        }
      }
      if (wrote) {
        ctx.flush();
        if (pending.size() < MAX_PIPELINED && !ctx.channel().config().isAutoRead()) {
          ctx.channel().config().setAutoRead(true);
        }
      }
    }

    /**
     * Answers {@code status} with {@code reason} once the answers before it are written, then
     * closes: what follows on the connection cannot be trusted to start a request.
     */
    void refuse(ChannelHandlerContext ctx, int status, String reason) {
      cancelDeadline();
      if (closing) {
        return;
      }
      HttpHeaders h = new io.netty.handler.codec.http.DefaultHttpHeaders()
          .set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
      Exchange placeholder = new Exchange("GET", "/", h, new byte[0], ctx.executor(),
          (e, s, hh, b) -> { });
      Pending p = new Pending(placeholder, false);
      p.response = response(status, h, text(reason));
      pending.add(p);
      flush();
    }

    private void expire(ChannelHandlerContext ctx) {
      deadline = null;
      refuse(ctx, 408, "request not complete within " + requestTimeoutMillis + " ms\n");
    }

    private void cancelDeadline() {
      if (deadline != null) {
        deadline.cancel(false);
        deadline = null;
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof IdleStateEvent idle && idle.state() == IdleState.ALL_IDLE
          && pending.isEmpty() && deadline == null) {
        closing = true;
        ctx.close();
        return;
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      cancelDeadline();
      closing = true;
      pending.clear();
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A reset by the peer or a TLS failure: nothing to answer on this connection.
      closing = true;
      ctx.close();
    }
  }
}
