package io.tollgate.gateway;

import com.linecorp.armeria.client.ResponseTimeoutException;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpHeaders;
import com.linecorp.armeria.common.HttpHeadersBuilder;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpResponseWriter;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import com.linecorp.armeria.common.ResponseHeaders;
import io.tollgate.gateway.GatewayConfig.Upstream;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * HTTP/1.1 exchanges with {@code http://} upstreams over Netty's codec, for requests whose body
 * is already in memory (none, or a small one held for retries). Connections are kept alive and
 * pooled per event loop and per upstream; an exchange runs wholly on the event loop it starts
 * on, the one of the client exchange it belongs to. Nothing is built per exchange beyond the
 * request, the answer's headers and its body: no client request context or request log.
 *
 * <p>What {@link UpstreamClient} relies on:
 * <ul>
 *   <li>The answer's headers, minus hop-by-hop ones, are written with the caller's additions;
 *       then its body streams through as it is read. Reading waits while the client has not taken
 *       what was written, so a slow client holds at most one read of a large answer in memory.
 *   <li>No connection (refused, or none within the connect timeout): {@link Outcome#unprocessed}
 *       is called and nothing is written, so the caller may try another upstream.
 *   <li>A kept-alive connection that the upstream closed before answering anything has its
 *       request sent once more on a new connection, for idempotent methods only, the ones that
 *       may be repeated (RFC 9110 9.2.2): upstreams close idle connections, and one may do so
 *       just as a request arrives.
 *   <li>No complete answer within the timeout: 504 before the headers, the answer aborted after.
 *       A connection lost before the headers: 502; after them, the answer is aborted. Either way
 *       the connection is closed, never reused.
 *   <li>A client that goes away mid-answer closes the upstream connection.
 * </ul>
 */
final class Http1Upstreams {

  /** Connections idle for longer than this are closed. */
  static final long IDLE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
  /** Idle connections kept per upstream and event loop; more are closed when freed. */
  static final int MAX_IDLE_PER_UPSTREAM = 256;
  static final int MAX_RESPONSE_HEADER_BYTES = 64 << 10;
  private static final int MAX_CHUNK_BYTES = 64 << 10;

  /** What an exchange ends with, besides the answer written to the writer. */
  interface Outcome {
    /** No connection could be made: nothing was sent and nothing written. */
    void unprocessed(Throwable cause);

    /** No answer's headers were written: write the error answer for {@code status}. */
    void failed(HttpStatus status);
  }

  private final EventLoopGroup group;
  private final Class<? extends SocketChannel> channelType;
  private final int connectTimeoutMillis;
  private final DnsAddressResolverGroup resolver;
  private final FastThreadLocal<Loop> loops = new FastThreadLocal<>() {
    @Override
    protected Loop initialValue() {
      for (EventExecutor e : group) {
        if (e.inEventLoop()) {
          return new Loop((EventLoop) e);
        }
      }
      return null;
    }
  };

  Http1Upstreams(EventLoopGroup group, Class<? extends SocketChannel> channelType,
      int connectTimeoutMillis) {
    this.group = group;
    this.channelType = channelType;
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.resolver = NameResolvers.forLoops(group);
  }

  /** Stops the name resolver; the connections close with their event loops. */
  void close() {
    resolver.close();
  }

  /**
   * Sends {@code headers} and {@code body} (empty for none) to {@code upstream}, whose Host is
   * {@code authority}; the answer goes to {@code out}, its headers completed by {@code decorate}.
   * Takes {@code body} (released when the exchange ends). Runs on the calling event loop, or on
   * one of the group's when called from any other thread.
   */
  void send(Upstream upstream, String authority, HttpMethod method, String path,
      io.netty.handler.codec.http.HttpHeaders headers, ByteBuf body, long timeoutMillis,
      HttpResponseWriter out, Consumer<ResponseHeadersBuilder> decorate, Outcome outcome) {
    Loop loop = loops.get();
    if (loop == null) {
      group.next().execute(() -> send(upstream, authority, method, path, headers, body,
          timeoutMillis, out, decorate, outcome));
      return;
    }
    Pool pool = loop.pools.get(upstream);
    if (pool == null) {
      pool = new Pool(loop, upstream.host(), upstream.port());
      loop.pools.put(upstream, pool);
    }
    Exchange x = new Exchange(pool, request(authority, method, path, headers, body), method,
        out, decorate, outcome);
    x.timeout = loop.eventLoop.schedule(x::timedOut, timeoutMillis, TimeUnit.MILLISECONDS);
    out.whenComplete().handle((ok, err) -> {
      if (err != null) {
        x.clientGone();
      }
      return null;
    });
    pool.start(x, false);
  }

  private static DefaultFullHttpRequest request(String authority, HttpMethod method,
      String path, io.netty.handler.codec.http.HttpHeaders headers, ByteBuf body) {
    headers.set(HttpHeaderNames.HOST, authority);
    if (body.isReadable() && !headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      headers.set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    }
    return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1,
        io.netty.handler.codec.http.HttpMethod.valueOf(method.name()), path, body, headers,
        EmptyHttpHeaders.INSTANCE);
  }

  /** One event loop's pools, touched by that loop only. */
  private final class Loop {
    final EventLoop eventLoop;
    final Map<Upstream, Pool> pools = new HashMap<>();

    Loop(EventLoop eventLoop) {
      this.eventLoop = eventLoop;
    }
  }

  /** The kept-alive connections of one event loop to one upstream. */
  private final class Pool {
    final Loop loop;
    final Bootstrap bootstrap;
    final ArrayDeque<Connection> idle = new ArrayDeque<>();
    boolean sweepScheduled;

    Pool(Loop loop, String host, int port) {
      this.loop = loop;
      this.bootstrap = new Bootstrap()
          .group(loop.eventLoop)
          .channel(channelType)
          .resolver(resolver)
          .remoteAddress(host, port)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(new HttpClientCodec(4096, MAX_RESPONSE_HEADER_BYTES,
                  MAX_CHUNK_BYTES), new Connection(Pool.this));
            }
          });
    }

    /** Sends {@code x} on an idle connection, or on a new one ({@code fresh}: always new). */
    void start(Exchange x, boolean fresh) {
      if (!fresh) {
        Connection c;
        while ((c = idle.pollLast()) != null) {
          if (c.channel.isActive()) {
            c.send(x, true);
            return;
          }
        }
      }
      bootstrap.connect().addListener(f -> {
        if (x.done) {
          if (f.isSuccess()) {
            ((ChannelFuture) f).channel().close();
          }
          return;
        }
        if (!f.isSuccess()) {
          x.finish();
          x.outcome.unprocessed(f.cause());
          return;
        }
        Channel ch = ((ChannelFuture) f).channel();
        ch.pipeline().get(Connection.class).send(x, false);
      });
    }

    /** Keeps {@code c} for the next exchange, or closes it when enough are kept. */
    void release(Connection c) {
      if (idle.size() >= MAX_IDLE_PER_UPSTREAM) {
        c.channel.close();
        return;
      }
      c.idleSince = System.nanoTime();
      idle.addLast(c);
      if (!sweepScheduled) {
        sweepScheduled = true;
        loop.eventLoop.schedule(this::sweep, IDLE_TIMEOUT_NANOS / 4, TimeUnit.NANOSECONDS);
      }
    }

    /** Closes connections idle for longer than the idle timeout, the oldest first. */
    private void sweep() {
      long now = System.nanoTime();
      Iterator<Connection> it = idle.iterator();
      while (it.hasNext()) {
        Connection c = it.next();
        if (now - c.idleSince < IDLE_TIMEOUT_NANOS) {
          break;
        }
        it.remove();
        c.channel.close();
      }
      sweepScheduled = !idle.isEmpty();
      if (sweepScheduled) {
        loop.eventLoop.schedule(this::sweep, IDLE_TIMEOUT_NANOS / 4, TimeUnit.NANOSECONDS);
      }
    }
  }

  /** One request and its answer. */
  private static final class Exchange {
    final Pool pool;
    final DefaultFullHttpRequest request;
    final HttpMethod method;
    final HttpResponseWriter out;
    final Consumer<ResponseHeadersBuilder> decorate;
    final Outcome outcome;
    ScheduledFuture<?> timeout;
    Connection connection;
    boolean headersWritten;
    boolean done;
    boolean retriedStale;

    Exchange(Pool pool, DefaultFullHttpRequest request, HttpMethod method,
        HttpResponseWriter out, Consumer<ResponseHeadersBuilder> decorate, Outcome outcome) {
      this.pool = pool;
      this.request = request;
      this.method = method;
      this.out = out;
      this.decorate = decorate;
      this.outcome = outcome;
    }

    /** Ends the exchange's own bookkeeping: no more events act on it. */
    void finish() {
      if (done) {
        return;
      }
      done = true;
      timeout.cancel(false);
      request.release();
    }

    void timedOut() {
      if (done) {
        return;
      }
      fail(HttpStatus.GATEWAY_TIMEOUT,
          ResponseTimeoutException.get());
    }

    /** Ends the exchange with an error: 502/504 before the headers, an abort after them. */
    void fail(HttpStatus status, Throwable cause) {
      Connection c = connection;
      finish();
      if (c != null) {
        c.exchange = null;
        c.channel.close();
      }
      if (headersWritten) {
        out.abort(cause);
      } else {
        outcome.failed(status);
      }
    }

    void clientGone() {
      if (pool.loop.eventLoop.inEventLoop()) {
        clientGoneHere();
      } else {
        pool.loop.eventLoop.execute(this::clientGoneHere);
      }
    }

    private void clientGoneHere() {
      if (done) {
        return;
      }
      Connection c = connection;
      finish();
      if (c != null) {
        c.exchange = null;
        c.channel.close();
      }
    }
  }

  /** One connection's handler: at most one exchange at a time, no pipelining. */
  private static final class Connection extends ChannelInboundHandlerAdapter {
    final Pool pool;
    Channel channel;
    Exchange exchange;
    long idleSince;
    /** An informational (1xx) answer is being skipped. */
    boolean skipping;
    boolean keepAlive;
    boolean readSomething;
    boolean reused;

    Connection(Pool pool) {
      this.pool = pool;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      channel = ctx.channel();
    }

    void send(Exchange x, boolean reused) {
      exchange = x;
      x.connection = this;
      this.reused = reused;
      readSomething = false;
      skipping = false;
      // From the body's start: a request sent again was read to its end the first time.
      x.request.content().readerIndex(0);
      channel.writeAndFlush(x.request.retain(), channel.voidPromise());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Exchange x = exchange;
      try {
        if (x == null) {
          // Nothing was asked on this connection: an upstream that talks out of turn.
          ctx.close();
          return;
        }
        readSomething = true;
        if (msg instanceof HttpResponse r) {
          if (r.decoderResult().isFailure()) {
            x.fail(HttpStatus.BAD_GATEWAY, r.decoderResult().cause());
            return;
          }
          int code = r.status().code();
          if (code >= 100 && code < 200) {
            skipping = true;
            return;
          }
          keepAlive = HttpUtil.isKeepAlive(r)
              && (HttpUtil.isContentLengthSet(r) || HttpUtil.isTransferEncodingChunked(r)
              || bodyless(x.method, code));
          ResponseHeaders answer = headers(r, x.decorate);
          x.headersWritten = true;
          x.out.tryWrite(answer);
        }
        if (msg instanceof HttpContent content) {
          if (content.decoderResult().isFailure()) {
            x.fail(HttpStatus.BAD_GATEWAY,
                content.decoderResult().cause());
            return;
          }
          if (skipping) {
            if (content instanceof LastHttpContent) {
              skipping = false;
            }
            return;
          }
          ByteBuf b = content.content();
          if (b.isReadable()) {
            HttpData data = HttpData.wrap(b.retain());
            if (!x.out.tryWrite(data)) {
              data.close();
            }
          }
          if (content instanceof LastHttpContent last) {
            if (!last.trailingHeaders().isEmpty()) {
              HttpHeadersBuilder t = HttpHeaders.builder();
              Iterator<Map.Entry<CharSequence, CharSequence>> it =
                  last.trailingHeaders().iteratorCharSequence();
              while (it.hasNext()) {
                Map.Entry<CharSequence, CharSequence> e = it.next();
                t.add(AsciiString.of(e.getKey()).toLowerCase(), e.getValue().toString());
              }
              x.out.tryWrite(t.build());
            }
            x.finish();
            exchange = null;
            x.out.close();
            if (keepAlive && channel.isActive()) {
              pool.release(this);
            } else {
              channel.close();
            }
          }
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      Exchange x = exchange;
      if (x != null && x.headersWritten && channel.config().isAutoRead()) {
        // More of the answer is to come: read on once the client has taken what it got.
        channel.config().setAutoRead(false);
        x.out.whenConsumed().thenRun(() -> channel.config().setAutoRead(true));
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      Exchange x = exchange;
      exchange = null;
      pool.idle.remove(this);
      if (x == null || x.done) {
        return;
      }
      if (!readSomething && reused && !x.retriedStale && idempotent(x.method)) {
        // The upstream closed a kept-alive connection as the request was sent: it never read it.
        x.retriedStale = true;
        x.connection = null;
        pool.start(x, true);
        return;
      }
      x.fail(HttpStatus.BAD_GATEWAY,
          new IOException("the upstream closed the connection before it answered in full"));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** Whether {@code method} may be sent again without changing what it does (RFC 9110 9.2.2). */
  private static boolean idempotent(HttpMethod method) {
    return switch (method) {
      case GET, HEAD, PUT, DELETE, OPTIONS, TRACE -> true;
      default -> false;
    };
  }

  /** Whether an answer to {@code method} with status {@code code} never has a body. */
  private static boolean bodyless(HttpMethod method, int code) {
    return method == HttpMethod.HEAD || code == 204 || code == 304;
  }

  /** The answer's headers for the client: hop-by-hop ones dropped, then {@code decorate}. */
  private static ResponseHeaders headers(HttpResponse r,
      Consumer<ResponseHeadersBuilder> decorate) {
    ResponseHeadersBuilder b = ResponseHeaders.builder(r.status().code());
    io.netty.handler.codec.http.HttpHeaders h = r.headers();
    String nominated = h.get(HttpHeaderNames.CONNECTION);
    Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence();
    while (it.hasNext()) {
      Map.Entry<CharSequence, CharSequence> e = it.next();
      AsciiString name = AsciiString.of(e.getKey()).toLowerCase();
      if (ProxyService.HOP_BY_HOP.contains(name)
          || (nominated != null && nominates(nominated, name))) {
        continue;
      }
      b.add(name, e.getValue().toString());
    }
    decorate.accept(b);
    return b.build();
  }

  /** Whether the Connection header {@code value} names {@code name}. */
  private static boolean nominates(String value, AsciiString name) {
    for (String n : value.split(",")) {
      if (name.contentEqualsIgnoreCase(n.trim().toLowerCase(Locale.ROOT))) {
        return true;
      }
    }
    return false;
  }
}
