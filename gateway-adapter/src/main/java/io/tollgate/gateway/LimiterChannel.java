package io.tollgate.gateway;

import io.grpc.Status;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.util.AsciiString;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Unary gRPC calls to the limiter over HTTP/2, one connection per event loop: a call made on an
 * event loop is sent on that loop's connection and answered on that loop, so a check never
 * changes threads. It is Netty's HTTP/2 codec and nothing more: no request context, request log
 * or response object per call, which a general HTTP client builds for every exchange.
 *
 * <p>A call is one HEADERS frame and one DATA frame ({@link GrpcUnary} frames the message); its
 * answer is read into one byte array and handed to the caller with the answer's {@code
 * :status}, {@code grpc-status} and {@code grpc-message}. Every call has a deadline: past it the
 * stream is reset and the call fails with DEADLINE_EXCEEDED.
 *
 * <p>Connections. A call on an event loop without a connection opens one and waits for it
 * (within its deadline). A call the limiter cannot have seen (no connection could be made, the
 * stream was refused, or the connection closed before it was sent) fails as <em>unprocessed</em>,
 * so the caller may send it again. A GOAWAY from the limiter (its connection age limit, a
 * restart) retires the connection: calls it had not taken are sent again on a new connection at
 * once, calls it took are answered on the old one, which closes when the last is. Calls beyond
 * the limiter's stream limit (SETTINGS_MAX_CONCURRENT_STREAMS) wait for a stream to end.
 */
final class LimiterChannel implements AutoCloseable {

  /** How a call ended; runs on the event loop the call was made on. */
  interface Reply {
    /**
     * The limiter answered: {@code httpStatus} ({@code :status}), {@code grpcStatus} and {@code
     * grpcMessage} from the trailers (or, for an answer without a message, the headers; null when
     * absent), and the body's first {@code length} bytes.
     */
    void answered(int httpStatus, CharSequence grpcStatus, CharSequence grpcMessage, byte[] body,
        int length);

    /**
     * No answer: {@code status} says why; {@code unprocessed} when the limiter cannot have seen
     * the call (it may be sent again).
     */
    void failed(Status status, boolean unprocessed);
  }

  /** Connections opening and closing, for the circuit breaker. */
  interface ConnectionEvents {
    /** A connection is ready: the limiter's first SETTINGS arrived. */
    void opened();

    /**
     * A ready connection was lost: the limiter closed it, or retired it with GOAWAY. Not called
     * for a connection this client closed because nothing was answered on it.
     */
    void closed();
  }

  /** The largest answer read; a CheckResponse is well under a kilobyte. */
  static final int MAX_ANSWER_BYTES = 1 << 20;
  /** Our receive windows: answers are small, and the defaults of HTTP/2 are plenty. */
  private static final Http2Settings SETTINGS = new Http2Settings()
      .pushEnabled(false).maxHeaderListSize(64 << 10);

  private static final Logger LOG = Logger.getLogger(LimiterChannel.class.getName());
  private static final AsciiString GRPC_STATUS = AsciiString.of("grpc-status");
  private static final AsciiString GRPC_MESSAGE = AsciiString.of("grpc-message");

  private final String host;
  private final int port;
  private final SslContext ssl;
  private final AsciiString scheme;
  private final AsciiString authority;
  private final long connectTimeoutMillis;
  private final ConnectionEvents events;
  private final Class<? extends SocketChannel> channelType;
  private final DnsAddressResolverGroup resolver;
  /** One slot per event loop of the group, fixed at construction. */
  private final Slot[] slots;
  private final AtomicInteger next = new AtomicInteger();
  private volatile boolean closed;

  /**
   * Calls to {@code host:port} over TLS with {@code ssl} (ALPN h2), or plaintext HTTP/2 with prior
   * knowledge when {@code ssl} is null, on {@code eventLoops} of {@code channelType}.
   */
  LimiterChannel(String host, int port, SslContext ssl, EventLoopGroup eventLoops,
      Class<? extends SocketChannel> channelType, long connectTimeoutMillis,
      ConnectionEvents events) {
    this.host = host;
    this.port = port;
    this.ssl = ssl;
    this.scheme = AsciiString.of(ssl == null ? "http" : "https");
    this.authority = AsciiString.of((host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":"
        + port);
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.events = events;
    this.channelType = channelType;
    this.resolver = NameResolvers.forLoops(eventLoops);
    List<Slot> s = new ArrayList<>();
    for (EventExecutor e : eventLoops) {
      s.add(new Slot((EventLoop) e));
    }
    this.slots = s.toArray(new Slot[0]);
  }

  /**
   * The request headers of a call to {@code path} with a {@code grpc-timeout} of {@code
   * timeoutMillis}. They may be sent any number of times and are never changed.
   */
  Http2Headers headers(String path, long timeoutMillis) {
    return new DefaultHttp2Headers(false)
        .method(AsciiString.of("POST"))
        .scheme(scheme)
        .path(AsciiString.of(path))
        .authority(authority)
        .add(AsciiString.of("content-type"), AsciiString.of("application/grpc"))
        .add(AsciiString.of("te"), AsciiString.of("trailers"))
        .add(AsciiString.of("grpc-timeout"), AsciiString.of(GrpcUnary.timeout(timeoutMillis)));
  }

  /**
   * Sends one call: {@code headers} (from {@link #headers}) and {@code body} (a framed message),
   * failing with DEADLINE_EXCEEDED after {@code timeoutNanos}. {@code reply} runs on the calling
   * event loop, or, from any other thread, on one of the group's.
   */
  void call(Http2Headers headers, byte[] body, long timeoutNanos, Reply reply) {
    Slot slot = null;
    for (Slot s : slots) {
      if (s.loop.inEventLoop()) {
        slot = s;
        break;
      }
    }
    if (slot == null) {
      Slot other = slots[Math.floorMod(next.getAndIncrement(), slots.length)];
      other.loop.execute(() -> other.start(new Call(headers, body, reply), timeoutNanos));
      return;
    }
    slot.start(new Call(headers, body, reply), timeoutNanos);
  }

  /** One call, from start to answer; touched only on its slot's event loop. */
  private static final class Call {
    final Http2Headers headers;
    final byte[] request;
    final Reply reply;
    long startNanos;
    /** When the call's deadline passes, on {@link System#nanoTime()}'s scale. */
    long deadlineNanos;
    ScheduledFuture<?> deadline;
    boolean done;
    /** Set once sent: the stream and the connection it went out on. */
    int streamId;
    Connection connection;
    int httpStatus = -1;
    /** The answer's body as read so far: its first {@code length} bytes. */
    byte[] received;
    int length;
    boolean refused;

    Call(Http2Headers headers, byte[] request, Reply reply) {
      this.headers = headers;
      this.request = request;
      this.reply = reply;
    }

    /** Ends the call once; later outcomes (a late answer, a reset) are ignored. */
    boolean finish() {
      if (done) {
        return false;
      }
      done = true;
      if (deadline != null) {
        deadline.cancel(false);
      }
      return true;
    }

    void fail(Status status, boolean unprocessed) {
      if (finish()) {
        try {
          reply.failed(status, unprocessed);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "a limiter call's failure handler threw", e);
        }
      }
    }

    /** Hands over the answer; what the caller does with it never reaches the connection. */
    void answer(CharSequence grpcStatus, CharSequence grpcMessage) {
      if (finish()) {
        try {
          reply.answered(httpStatus, grpcStatus, grpcMessage, received, length);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "a limiter call's answer handler threw", e);
        }
      }
    }
  }

  /** The connection of one event loop; touched only on that loop. */
  private final class Slot {
    final EventLoop loop;
    /** The connection new calls go to; null when there is none (or it is retiring). */
    Connection current;

    Slot(EventLoop loop) {
      this.loop = loop;
    }

    void start(Call c, long timeoutNanos) {
      c.startNanos = System.nanoTime();
      c.deadlineNanos = c.startNanos + Math.max(timeoutNanos, 0);
      c.deadline = loop.schedule(() -> expire(c), Math.max(timeoutNanos, 0), TimeUnit.NANOSECONDS);
      submit(c);
    }

    void submit(Call c) {
      if (c.done) {
        return;
      }
      if (closed) {
        c.fail(Status.UNAVAILABLE.withDescription("the limiter client is closed"), false);
        return;
      }
      if (current == null) {
        current = new Connection(this);
        current.open();
      }
      current.submit(c);
    }

    void expire(Call c) {
      if (c.done) {
        return;
      }
      if (c.connection != null && c.streamId > 0) {
        Connection conn = c.connection;
        conn.reset(c);
        c.fail(Status.DEADLINE_EXCEEDED.withDescription("no answer within the deadline"),
            false);
        if (conn.lastReadNanos - c.startNanos < 0) {
          // Not one answer on this connection since the call began: the limiter's host may be
          // gone without a word. A new connection finds out; this one's calls end here. This is
          // no loss of the limiter (ConnectionEvents.closed): a stalled limiter must not have its
          // circuit breaker closed by every reconnection.
          conn.silent = true;
          conn.channel.close();
        }
      } else {
        c.fail(Status.DEADLINE_EXCEEDED.withDescription("not sent within the deadline: no "
            + "connection to the limiter, or no free stream on it"), false);
      }
    }

    void retired(Connection c) {
      if (current == c) {
        current = null;
      }
    }
  }

  /** One HTTP/2 connection: the calls waiting to be sent and the streams in flight. */
  private final class Connection extends Http2FrameAdapter {
    final Slot slot;
    final ArrayDeque<Call> waiting = new ArrayDeque<>();
    final IntObjectHashMap<Call> streams = new IntObjectHashMap<>();
    Channel channel;
    Handler handler;
    ChannelHandlerContext ctx;
    /** HTTP/2 is set up: calls may be sent. */
    boolean ready;
    /** No new calls: a GOAWAY arrived, or stream ids ran out. */
    boolean retiring;
    boolean closedDown;
    /** When an answer's headers were last read here (at first: when it became ready). */
    long lastReadNanos;
    /** Closed by us because the limiter answered nothing on it. */
    boolean silent;

    Connection(Slot slot) {
      this.slot = slot;
    }

    void open() {
      Bootstrap b = new Bootstrap()
          .group(slot.loop)
          .channel(channelType)
          .resolver(resolver)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeoutMillis)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new io.netty.channel.ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              if (ssl == null) {
                ch.pipeline().addLast(newHandler());
                return;
              }
              SslHandler tls = ssl.newHandler(ch.alloc(), host, port);
              ch.pipeline().addLast(tls);
              tls.handshakeFuture().addListener(f -> {
                if (!f.isSuccess()) {
                  return; // the channel closes; waiting calls fail as unprocessed
                }
                if (!ApplicationProtocolNames.HTTP_2.equals(tls.applicationProtocol())) {
                  LOG.warning("the limiter at " + host + ":" + port + " did not agree to HTTP/2"
                      + " (ALPN: " + tls.applicationProtocol() + ")");
                  ch.close();
                  return;
                }
                ch.pipeline().addLast(newHandler());
              });
            }
          });
      ChannelFuture f = b.connect(host, port);
      channel = f.channel();
      // Connected (and TLS agreed) but no SETTINGS from the limiter within the connect timeout:
      // not an HTTP/2 server that answers. Closing fails the waiting calls as unprocessed.
      slot.loop.schedule(() -> {
        if (!ready) {
          channel.close();
        }
      }, connectTimeoutMillis, TimeUnit.MILLISECONDS);
      channel.closeFuture().addListener(x -> closedDown(null));
      f.addListener(x -> {
        if (!x.isSuccess()) {
          closedDown(x.cause());
        }
      });
    }

    Handler newHandler() {
      Handler h = new HandlerBuilder().frameListener(this).build();
      h.connection().addListener(new Http2ConnectionAdapter() {
        @Override
        public void onGoAwayReceived(int lastStreamId, long errorCode, ByteBuf debugData) {
          // Before the streams it never took are closed (streamClosed sends those again).
          retire();
        }

        @Override
        public void onStreamClosed(Http2Stream stream) {
          streamClosed(stream);
        }
      });
      handler = h;
      return h;
    }

    /**
     * The limiter's first SETTINGS arrived: its stream limit is known, so calls may be sent. (A
     * call sent earlier could exceed the limit; the limiter refuses such a stream, and then treats
     * its DATA frame as a protocol error that closes the whole connection.)
     */
    void ready(ChannelHandlerContext ctx) {
      if (ready) {
        return;
      }
      this.ctx = ctx;
      ready = true;
      lastReadNanos = System.nanoTime();
      events.opened();
      drain();
    }

    void submit(Call c) {
      waiting.add(c);
      drain();
    }

    /** Sends waiting calls while streams are free. */
    void drain() {
      if (!ready || retiring) {
        return;
      }
      boolean sent = false;
      while (!waiting.isEmpty() && handler.connection().local().canOpenStream()) {
        Call c = waiting.poll();
        if (!c.done) {
          send(c);
          sent = true;
        }
        if (retiring) {
          break;
        }
      }
      if (sent) {
        // Through the HTTP/2 handler: DATA frames wait in its flow controller until it flushes.
        handler.flush(ctx);
      }
    }

    void send(Call c) {
      int id = handler.connection().local().incrementAndGetNextStreamId();
      if (id < 0) {
        // Stream ids are spent: a new connection takes this call and the next ones.
        retire();
        slot.submit(c);
        return;
      }
      c.streamId = id;
      c.connection = this;
      streams.put(id, c);
      Http2ConnectionEncoder enc = handler.encoder();
      enc.writeHeaders(ctx, id, c.headers, 0, false, ctx.newPromise());
      if (handler.connection().stream(id) == null) {
        // The stream could not be opened (the connection is going away): nothing was sent.
        streams.remove(id);
        c.streamId = 0;
        c.connection = null;
        retire();
        slot.submit(c);
        return;
      }
      enc.writeData(ctx, id, Unpooled.wrappedBuffer(c.request), 0, true, ctx.newPromise());
    }

    void reset(Call c) {
      streams.remove(c.streamId);
      if (ctx != null && channel.isActive()) {
        handler.resetStream(ctx, c.streamId, Http2Error.CANCEL.code(), ctx.newPromise());
        handler.flush(ctx);
      }
    }

    /** No new calls here: the waiting ones go to a new connection, this one closes when idle. */
    void retire() {
      if (retiring) {
        return;
      }
      retiring = true;
      slot.retired(this);
      while (!waiting.isEmpty()) {
        slot.submit(waiting.poll());
      }
      closeIfIdle();
    }

    void closeIfIdle() {
      if (retiring && streams.isEmpty() && channel != null) {
        channel.close();
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
        int padding, boolean endOfStream) {
      lastReadNanos = System.nanoTime();
      Call c = streams.get(streamId);
      if (c == null) {
        return;
      }
      if (c.httpStatus < 0) {
        CharSequence s = headers.status();
        int status;
        try {
          status = s == null ? 0 : Integer.parseInt(s.toString());
        } catch (NumberFormatException e) {
          status = 0;
        }
        if (status >= 100 && status < 200) {
          return; // informational: the real headers follow
        }
        c.httpStatus = status;
      }
      if (endOfStream) {
        answered(c, headers);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
        int streamDependency, short weight, boolean exclusive, int padding,
        boolean endOfStream) {
      onHeadersRead(ctx, streamId, headers, padding, endOfStream);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
        boolean endOfStream) {
      int processed = data.readableBytes() + padding;
      Call c = streams.get(streamId);
      if (c == null) {
        return processed;
      }
      int n = data.readableBytes();
      if (c.length + n > MAX_ANSWER_BYTES) {
        reset(c);
        c.fail(Status.INTERNAL.withDescription("an answer over " + MAX_ANSWER_BYTES + " bytes"),
            false);
        return processed;
      }
      if (c.received == null) {
        c.received = new byte[Math.max(n, 64)];
      } else if (c.length + n > c.received.length) {
        c.received = Arrays.copyOf(c.received, Math.max(c.length + n, c.received.length * 2));
      }
      data.getBytes(data.readerIndex(), c.received, c.length, n);
      c.length += n;
      if (endOfStream) {
        answered(c, null);
      }
      return processed;
    }

    private void answered(Call c, Http2Headers trailers) {
      streams.remove(c.streamId);
      c.answer(trailers == null ? null : trailers.get(GRPC_STATUS),
          trailers == null ? null : trailers.get(GRPC_MESSAGE));
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      Call c = streams.get(streamId);
      if (c != null && errorCode == Http2Error.REFUSED_STREAM.code()) {
        c.refused = true;
      }
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
      if (!ready) {
        ready(ctx);
      } else {
        drain(); // the stream limit may have grown
      }
    }

    /** A stream ended; a call still open on it gets no answer. */
    void streamClosed(Http2Stream stream) {
      Call c = streams.remove(stream.id());
      if (c != null && !c.done) {
        Http2Connection conn = handler.connection();
        if (conn.goAwayReceived() && stream.id() > conn.local().lastStreamKnownByPeer()) {
          // The limiter's GOAWAY says it never took this stream: another connection takes it.
          c.streamId = 0;
          c.connection = null;
          slot.submit(c);
        } else if (c.refused) {
          c.fail(Status.UNAVAILABLE.withDescription("the limiter refused the stream"), true);
        } else if (System.nanoTime() - c.deadlineNanos >= 0) {
          // The limiter gave up at the deadline it was sent (grpc-timeout), and its reset was read
          // before this side's timer ran: a busy event loop reads before it runs timers.
          c.fail(Status.DEADLINE_EXCEEDED.withDescription("no answer within the deadline"),
              false);
        } else {
          c.fail(Status.UNAVAILABLE.withDescription(
              "the stream to the limiter ended without an answer"), false);
        }
      }
      if (!retiring) {
        drain();
      }
      closeIfIdle();
    }

    /** The channel closed or could not be opened: nothing more is sent or read here. */
    void closedDown(Throwable cause) {
      if (closedDown) {
        return;
      }
      closedDown = true;
      slot.retired(this);
      String why = "no connection to the limiter at " + host + ":" + port
          + (cause == null ? "" : ": " + cause);
      while (!waiting.isEmpty()) {
        waiting.poll().fail(Status.UNAVAILABLE.withDescription(why), true);
      }
      if (!streams.isEmpty()) {
        for (Call c : new ArrayList<>(streams.values())) {
          c.fail(Status.UNAVAILABLE.withDescription("the connection to the limiter closed"),
              false);
        }
        streams.clear();
      }
      if (ready && !silent) {
        events.closed();
      } else if (cause != null) {
        LOG.log(Level.FINE, "connecting to the limiter failed", cause);
      }
    }

    /** Netty's HTTP/2 connection handler. */
    final class Handler extends Http2ConnectionHandler {
      Handler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
          Http2Settings settings) {
        super(decoder, encoder, settings);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        LOG.log(Level.FINE, "the connection to the limiter failed", cause);
        super.exceptionCaught(ctx, cause);
      }
    }

    private final class HandlerBuilder
        extends AbstractHttp2ConnectionHandlerBuilder<Handler, HandlerBuilder> {
      HandlerBuilder() {
        initialSettings(SETTINGS);
        server(false);
      }

      @Override
      public HandlerBuilder frameListener(io.netty.handler.codec.http2.Http2FrameListener l) {
        return super.frameListener(l);
      }

      @Override
      public Handler build() {
        return super.build();
      }

      @Override
      protected Handler build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
          Http2Settings settings) {
        return new Handler(decoder, encoder, settings);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    resolver.close();
    for (Slot s : slots) {
      if (s.loop.isShuttingDown()) {
        continue;
      }
      s.loop.execute(() -> {
        Connection c = s.current;
        s.current = null;
        if (c != null && c.channel != null) {
          c.channel.close();
        }
      });
    }
  }
}
