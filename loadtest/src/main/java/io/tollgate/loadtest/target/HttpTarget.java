package io.tollgate.loadtest.target;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Plain HTTP/1.1 (a gateway, a proxy, an upstream): {@code {key}} in the URL's path and query, the
 * headers and the body is replaced by the key index. 2xx is allowed, 429 denied, anything else an
 * error.
 *
 * <p>One Netty event loop owns every connection, the pool and the queue: a request is handed to it
 * once, and its answer is read and recorded on that same thread. (The JDK's {@code HttpClient},
 * used before, passed each exchange between its selector thread and its executor several times;
 * on a small shared machine every such wake-up added to the tail, and a static nginx answered
 * with a p99 of 18-48 ms at 778 requests/s where a gRPC echo through Netty had 7-8 ms.)
 *
 * <p>At most {@code connections} requests are on the wire at once, each on its own keep-alive
 * connection; the others wait here, in order, for one to finish, and the wait counts as latency
 * (a request keeps its intended send time). Connections are reused most recently used first and
 * opened only when none is idle, as a proxy's pool would.
 */
public final class HttpTarget implements Target {

  private final String url;
  private final String host;
  private final int port;
  private final String hostHeader;
  /** The request target when the URL has no {@code {key}}, else null. */
  private final String fixedTarget;
  private final HttpMethod method;
  private final List<String[]> headers;
  private final String body;
  private final long timeoutMillis;
  private final int connections;
  private final EventLoopGroup group;
  private final EventLoop loop;
  private final Bootstrap bootstrap;

  // Confined to the event loop.
  private final ArrayDeque<Channel> idle = new ArrayDeque<>();
  private final ArrayDeque<Exchange> waiting = new ArrayDeque<>();
  /** Connections open or being opened. */
  private int open;

  /**
   * @param url an {@code http://} URL; its host and port may not contain {@code {key}}
   * @param connections requests (so connections) open at once; later ones wait for a free one
   * @throws IllegalArgumentException naming the bad argument
   */
  public HttpTarget(String url, String method, List<String> headers, String body,
      long timeoutMillis, int connections) {
    if (connections <= 0) {
      throw new IllegalArgumentException("--connections must be > 0, was " + connections);
    }
    if (timeoutMillis <= 0) {
      throw new IllegalArgumentException("--timeout-ms must be > 0, was " + timeoutMillis);
    }
    URI first = parse(fill(url, 0));
    URI second = parse(fill(url, 1));
    if (!"http".equalsIgnoreCase(first.getScheme()) || first.getHost() == null) {
      throw new IllegalArgumentException("--url: '" + url + "' is not an http:// URL with a host");
    }
    if (!first.getHost().equals(second.getHost()) || first.getPort() != second.getPort()) {
      throw new IllegalArgumentException("--url: {key} may be in the path and query only, not in "
          + "the host or port: '" + url + "'");
    }
    this.url = url;
    this.host = first.getHost();
    this.port = first.getPort() < 0 ? 80 : first.getPort();
    this.hostHeader = first.getPort() < 0 ? first.getHost() : first.getHost() + ":" + port;
    this.fixedTarget = url.contains("{key}") ? null : requestTarget(first);
    try {
      this.method = HttpMethod.valueOf(method.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--http-method: '" + method + "' " + e.getMessage());
    }
    this.headers = headers.stream().map(h -> {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--header: '" + h + "' is not 'Name: value'");
      }
      return new String[] {h.substring(0, colon).trim(), h.substring(colon + 1).trim()};
    }).toList();
    this.body = body;
    this.timeoutMillis = timeoutMillis;
    this.connections = connections;
    this.group = new MultiThreadIoEventLoopGroup(1, r -> {
      Thread t = new Thread(r, "loadtest-http");
      t.setDaemon(true);
      return t;
    }, NioIoHandler.newFactory());
    this.loop = group.next();
    this.bootstrap = new Bootstrap().group(loop).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
            (int) Math.min(Integer.MAX_VALUE, timeoutMillis))
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpClientCodec(), new Answers());
          }
        });
  }

  private static URI parse(String s) {
    try {
      return new URI(s);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("--url: '" + s + "' is not a URL: " + e.getMessage());
    }
  }

  private static String fill(String s, int key) {
    return s.indexOf('{') < 0 ? s : s.replace("{key}", Integer.toString(key));
  }

  @Override
  public void send(int[] keys, Callback callback) {
    int key = keys.length == 0 ? 0 : keys[0];
    FullHttpRequest request;
    try {
      request = request(key);
    } catch (RuntimeException e) {
      callback.done(Outcome.ERROR, "bad request: " + e.getMessage());
      return;
    }
    Exchange x = new Exchange(key, request, callback);
    if (loop.inEventLoop()) {
      submit(x);
    } else {
      try {
        loop.execute(() -> submit(x));
      } catch (java.util.concurrent.RejectedExecutionException e) {
        request.release();
        callback.done(Outcome.ERROR, "closed");
      }
    }
  }

  private static String requestTarget(URI u) {
    return (u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath())
        + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
  }

  private FullHttpRequest request(int key) {
    String target = fixedTarget != null ? fixedTarget : requestTarget(parse(fill(url, key)));
    ByteBuf content = body.isEmpty() ? Unpooled.EMPTY_BUFFER
        : Unpooled.wrappedBuffer(fill(body, key).getBytes(StandardCharsets.UTF_8));
    FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, target, content);
    r.headers().set(HttpHeaderNames.HOST, hostHeader);
    for (String[] h : headers) {
      r.headers().add(h[0], fill(h[1], key));
    }
    boolean noBodyMethod = method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD);
    if (content.isReadable() || !noBodyMethod) {
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
    }
    return r;
  }

  private static boolean idempotent(HttpMethod m) {
    return m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD) || m.equals(HttpMethod.PUT)
        || m.equals(HttpMethod.DELETE) || m.equals(HttpMethod.OPTIONS)
        || m.equals(HttpMethod.TRACE);
  }

  /** On the loop: queues a request and starts what the pool allows. */
  private void submit(Exchange x) {
    waiting.add(x);
    dispatch();
  }

  /** On the loop: starts waiting requests on idle connections, opening new ones up to the bound. */
  private void dispatch() {
    while (!waiting.isEmpty()) {
      Channel c = idle.pollLast();
      if (c != null) {
        if (c.isActive()) {
          start(c, waiting.poll());
        }
        continue;
      }
      if (open >= connections) {
        return;
      }
      open++;
      connect(waiting.poll());
    }
  }

  private void connect(Exchange x) {
    ChannelFuture f = bootstrap.connect(host, port);
    // Runs once per connection, however it ends (a failed connect closes the channel too).
    f.channel().closeFuture().addListener(closed -> {
      open--;
      idle.remove(f.channel());
      dispatch();
    });
    f.addListener(done -> {
      if (done.isSuccess()) {
        start(f.channel(), x);
      } else {
        x.fail(done.cause());
      }
    });
  }

  private void start(Channel c, Exchange x) {
    Answers answers = c.pipeline().get(Answers.class);
    x.reused = answers.used;
    answers.used = true;
    answers.current = x;
    answers.answering = false;
    x.timeout = loop.schedule(() -> {
      if (answers.current == x) {
        answers.current = null;
        x.fail("timeout");
        c.close();
      }
    }, timeoutMillis, TimeUnit.MILLISECONDS);
    x.sent = true;
    // A failed write closes the connection; channelInactive then sends the request again or
    // fails it.
    c.writeAndFlush(x.request).addListener(w -> {
      if (!w.isSuccess() && answers.current == x) {
        c.close();
      }
    });
  }

  /** Reads the answer to the request on the wire and hands the connection back. */
  private final class Answers extends ChannelInboundHandlerAdapter {
    Exchange current;
    /** Whether a request was sent on this connection before. */
    boolean used;
    /** Whether the answer to {@link #current} has begun to arrive. */
    boolean answering;
    private int status;
    private boolean keepAlive;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (!(msg instanceof HttpObject)) {
          return;
        }
        answering = true;
        if (msg instanceof HttpResponse r) {
          status = r.status().code();
          keepAlive = HttpUtil.isKeepAlive(r);
          if (r.decoderResult().isFailure()) {
            answerFailed(ctx, r.decoderResult().cause());
            return;
          }
        }
        if (msg instanceof LastHttpContent last) {
          if (last.decoderResult().isFailure()) {
            answerFailed(ctx, last.decoderResult().cause());
            return;
          }
          Exchange x = current;
          if (x == null) {
            // An answer nobody asked for: the connection is out of step.
            ctx.close();
            return;
          }
          current = null;
          // The connection goes back first, so a call the callback makes (closed loop) reuses it.
          boolean reuse = keepAlive && ctx.channel().isActive();
          if (reuse) {
            idle.addLast(ctx.channel());
          } else {
            ctx.close();
          }
          x.answered(status);
          if (reuse) {
            dispatch();
          }
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    private void answerFailed(ChannelHandlerContext ctx, Throwable cause) {
      Exchange x = current;
      current = null;
      if (x != null) {
        x.fail(cause);
      }
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      Exchange x = current;
      current = null;
      if (x == null) {
        return;
      }
      if (x.reused && !answering && !x.retried && idempotent(method)) {
        // The server closed an idle keep-alive connection as the request went out: nothing of it
        // was answered, so it goes again, once, first in line, as the adapter does for its
        // upstreams. Other methods are never sent twice: the server may have counted the first.
        x.retry(request(x.key));
        waiting.addFirst(x);
        dispatch();
        return;
      }
      x.fail("connection closed before the answer");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      answerFailed(ctx, cause);
    }
  }

  /** One request and its callback; completes once. */
  private static final class Exchange {
    final int key;
    FullHttpRequest request;
    final Callback callback;
    ScheduledFuture<?> timeout;
    /** Sent on a connection that had carried a request before. */
    boolean reused;
    /** Sent again after its connection closed unanswered. */
    boolean retried;
    /** Handed to a connection, which releases the request once written. */
    boolean sent;
    private boolean done;

    Exchange(int key, FullHttpRequest request, Callback callback) {
      this.key = key;
      this.request = request;
      this.callback = callback;
    }

    void retry(FullHttpRequest again) {
      retried = true;
      if (timeout != null) {
        timeout.cancel(false);
      }
      request = again;
      sent = false;
    }

    void answered(int status) {
      if (finish()) {
        if (status / 100 == 2) {
          callback.done(Outcome.ALLOWED, null);
        } else if (status == 429) {
          callback.done(Outcome.DENIED, null);
        } else {
          callback.done(Outcome.ERROR, "HTTP " + status);
        }
      }
    }

    void fail(Throwable cause) {
      fail(cause == null ? "failed" : cause.getClass().getSimpleName());
    }

    void fail(String why) {
      if (finish()) {
        if (!sent) {
          request.release();
        }
        callback.done(Outcome.ERROR, why);
      }
    }

    private boolean finish() {
      if (done) {
        return false;
      }
      done = true;
      if (timeout != null) {
        timeout.cancel(false);
      }
      return true;
    }
  }

  @Override
  public String describe() {
    return "http " + method + " " + url + " (" + connections + " connections)";
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
