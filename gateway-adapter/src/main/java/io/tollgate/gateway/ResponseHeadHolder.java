package io.tollgate.gateway;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.channels.ClosedChannelException;

/**
 * Sends an HTTP/1 answer's head and the start of its body in one write to the socket.
 *
 * <p>Armeria's server writes an answer part by part and asks for the next part only when the
 * previous one was flushed, so a head and a body that are both at hand still left in two system
 * calls and two TCP segments, and the client woke up twice. This handler sits where Armeria's
 * HTTP/1 objects enter the pipeline, before they are encoded. It keeps a response head back at its
 * flush and reports the head written, which lets Armeria hand over the next part at once; the head
 * then goes out together with that part. When no part follows before the event loop finishes its
 * current work (a body still on its way from the upstream), the head is sent alone then, as before.
 *
 * <p>Only the head is held, never body bytes, and only until the end of the task it was written
 * in. Were the connection to fail in that time, the write of the next part fails, and Armeria ends
 * the exchange on that.
 */
final class ResponseHeadHolder extends ChannelDuplexHandler {

  private HttpResponse head;
  /** The head's promise while it has not been reported, null after. */
  private ChannelPromise headPromise;
  private boolean releaseScheduled;
  /** Whether something written before the head still waits for a flush. */
  private boolean unflushed;
  private ChannelHandlerContext ctx;
  private final Runnable releaseTask = () -> {
    releaseScheduled = false;
    if (head != null) {
      release();
      flush(ctx);
    }
  };

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    ctx.fireUserEventTriggered(evt);
    // Over TLS, Armeria adds its handlers once the handshake has chosen the protocol, after this
    // one; it moves behind them to stay where their HTTP/1 objects enter the pipeline. (HTTP/2
    // frames never pass here: Armeria writes them from its HTTP/2 handler towards the socket.)
    ChannelPipeline p = ctx.pipeline();
    if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess() && p.last() != this) {
      p.remove(this);
      p.addLast(new ResponseHeadHolder());
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (head != null) {
      release();
    }
    if (msg instanceof HttpResponse && !(msg instanceof HttpContent) && !promise.isVoid()) {
      head = (HttpResponse) msg;
      headPromise = promise;
      return;
    }
    unflushed = true;
    ctx.write(msg, promise);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    if (head == null || headPromise == null) {
      // None held, or one already reported that waits for its body or the task's end.
      unflushed = false;
      ctx.flush();
      return;
    }
    if (unflushed) {
      // What was written before the head goes now.
      unflushed = false;
      ctx.flush();
    }
    ChannelPromise reported = headPromise;
    headPromise = null;
    if (!releaseScheduled) {
      releaseScheduled = true;
      ctx.executor().execute(releaseTask);
    }
    // Armeria asks for the next part here; when that part is at hand, it is written (the head
    // with it) and flushed before this returns.
    reported.trySuccess();
  }

  /**
   * Writes the held head, with its own promise when it was not reported yet, else with one that
   * closes the connection on failure.
   */
  private void release() {
    HttpResponse h = head;
    ChannelPromise p = headPromise;
    head = null;
    headPromise = null;
    unflushed = true;
    ctx.write(h, p != null ? p
        : ctx.newPromise().addListener(ChannelFutureListener.CLOSE_ON_FAILURE));
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    if (head != null) {
      release();
      flush(ctx);
    }
    ctx.close(promise);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (head != null) {
      ReferenceCountUtil.release(head);
      if (headPromise != null) {
        headPromise.tryFailure(new ClosedChannelException());
      }
      head = null;
      headPromise = null;
    }
  }
}
