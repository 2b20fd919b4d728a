package io.tollgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What reaches the socket, flush by flush, when Armeria writes an answer the way its HTTP/1
 * server does: the head, a flush, and the next part only once the head's write is reported.
 */
class ResponseHeadHolderTest {

  /**
   * Records the messages of each flush that carried any bytes, in order. The empty end of an
   * answer whose length was given puts no bytes on the wire and is left out.
   */
  private static final class Flushes extends ChannelOutboundHandlerAdapter {
    final List<List<String>> batches = new ArrayList<>();
    private List<String> pending = new ArrayList<>();

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg != LastHttpContent.EMPTY_LAST_CONTENT) {
        pending.add(describe(msg));
      }
      ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
      if (!pending.isEmpty()) {
        batches.add(pending);
        pending = new ArrayList<>();
      }
      ctx.flush();
    }

    private static String describe(Object msg) {
      if (msg instanceof io.netty.handler.codec.http.HttpResponse r) {
        return "head " + r.status().code();
      }
      if (msg instanceof LastHttpContent c) {
        return "last " + c.content().toString(StandardCharsets.UTF_8);
      }
      if (msg instanceof io.netty.handler.codec.http.HttpContent c) {
        return "data " + c.content().toString(StandardCharsets.UTF_8);
      }
      return msg.getClass().getSimpleName();
    }
  }

  private final Flushes flushes = new Flushes();
  private final EmbeddedChannel ch = new EmbeddedChannel(flushes, new ResponseHeadHolder());
  // Written through the pipeline: EmbeddedChannel's own write and flush also run the event
  // loop's pending tasks, which would end the "task" the head is held in at once.

  @AfterEach
  void release() {
    Object o;
    while ((o = ch.readOutbound()) != null) {
      ReferenceCountUtil.release(o);
    }
    ch.finishAndReleaseAll();
  }

  private static DefaultHttpResponse head() {
    return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
  }

  private static DefaultHttpContent data(String s) {
    return new DefaultHttpContent(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
  }

  private static DefaultLastHttpContent last(String s) {
    return new DefaultLastHttpContent(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
  }

  /** Writes the next part once the previous write is reported, as Armeria's server does. */
  private void writeInTurn(Object... parts) {
    writeFrom(parts, 0);
  }

  private void writeFrom(Object[] parts, int i) {
    if (i == parts.length) {
      return;
    }
    ChannelFuture f = ch.pipeline().write(parts[i]);
    ch.pipeline().flush();
    f.addListener(done -> {
      if (done.isSuccess()) {
        writeFrom(parts, i + 1);
      }
    });
  }

  @Test
  void aHeadAndItsBodyAtHandLeaveInOneFlush() {
    writeInTurn(head(), data("ok\n"), LastHttpContent.EMPTY_LAST_CONTENT);
    ch.runPendingTasks();
    assertEquals(List.of(List.of("head 200", "data ok\n")), flushes.batches);
  }

  @Test
  void aHeadWhoseBodyIsNotAtHandLeavesAloneWhenTheTaskEnds() {
    ChannelFuture headWritten = ch.pipeline().write(head());
    ch.pipeline().flush();
    assertTrue(headWritten.isSuccess(), "reported at once, so the body can be asked for");
    assertEquals(List.of(), flushes.batches, "held while the task runs");

    ch.runPendingTasks();
    assertEquals(List.of(List.of("head 200")), flushes.batches);

    ch.pipeline().writeAndFlush(last("later"));
    assertEquals(List.of(List.of("head 200"), List.of("last later")), flushes.batches);
  }

  @Test
  void aHeadWrittenWithItsEndBeforeAnyFlushKeepsItsOwnPromise() {
    // HEAD, 204 and 304: Armeria writes the head and an empty end, then flushes once.
    ChannelFuture headWritten = ch.pipeline().write(head());
    ch.pipeline().write(LastHttpContent.EMPTY_LAST_CONTENT);
    assertFalse(headWritten.isDone());
    ch.pipeline().flush();
    assertTrue(headWritten.isSuccess());
    assertEquals(List.of(List.of("head 200")), flushes.batches);
  }

  @Test
  void whatWasWrittenBeforeTheHeadIsFlushedAtTheHeadsFlush() {
    ch.pipeline().write(last("previous answer's end"));
    ch.pipeline().write(head());
    ch.pipeline().flush();
    assertEquals(List.of(List.of("last previous answer's end")), flushes.batches);
    ch.pipeline().writeAndFlush(data("x"));
    assertEquals(List.of(List.of("last previous answer's end"), List.of("head 200", "data x")),
        flushes.batches);
  }

  @Test
  void aHeldHeadIsWrittenBeforeTheConnectionCloses() {
    ch.pipeline().write(head());
    ch.pipeline().flush();
    ch.pipeline().close();
    assertEquals(List.of(List.of("head 200")), flushes.batches);
  }

  @Test
  void aFullAnswerIsNeverHeld() {
    io.netty.handler.codec.http.DefaultFullHttpResponse full =
        new io.netty.handler.codec.http.DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
            HttpResponseStatus.NOT_FOUND);
    ch.pipeline().writeAndFlush(full);
    assertEquals(List.of(List.of("head 404")), flushes.batches);
  }
}
