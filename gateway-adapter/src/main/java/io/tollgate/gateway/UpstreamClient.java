package io.tollgate.gateway;

import com.linecorp.armeria.client.ClientFactory;
import com.linecorp.armeria.client.Endpoint;
import com.linecorp.armeria.client.EventLoopScheduler;
import com.linecorp.armeria.client.endpoint.EndpointGroup;
import com.linecorp.armeria.client.RequestOptions;
import com.linecorp.armeria.client.ResponseTimeoutException;
import com.linecorp.armeria.client.UnprocessedRequestException;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpRequest;
import com.linecorp.armeria.common.ContentTooLargeException;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpResponseWriter;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.RequestHeadersBuilder;
import com.linecorp.armeria.common.CommonPools;
import com.linecorp.armeria.common.SessionProtocol;
import com.linecorp.armeria.common.util.EventLoopGroups;
import com.linecorp.armeria.common.util.Exceptions;
import com.linecorp.armeria.common.util.ReleasableHolder;
import io.tollgate.gateway.GatewayConfig.Route;
import io.tollgate.gateway.GatewayConfig.Upstream;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Sends a request to one of a route's upstreams, round robin, and retries on the next upstream
 * only when no connection could be made (the upstream never saw the request). Anything else (a
 * timeout, a reset after sending, any status) is final. A timeout answers 504, an unreachable
 * upstream 502.
 *
 * <p>A request body is streamed to the upstream, not buffered, so it can be sent only once: a
 * request with a body larger than {@link #REPLAYABLE_BODY_BYTES} (or of unknown length) gets one
 * attempt. Smaller bodies are held so a connection failure can be retried.
 *
 * <p>Two clients do the sending. Requests with no body or a held one, on routes whose upstreams
 * all speak HTTP/1.1 ({@code http://}), the common case, go through {@link Http1Upstreams}:
 * Netty's HTTP/1.1 codec with no per-request context, with which the adapter process used 15%
 * less CPU per request at 1,200/s (loadtest/RESULTS.md). Streamed bodies and {@code h2c://} upstreams go through
 * Armeria's {@link WebClient}. Both answer the same way; {@code GatewayUpstreamConnectionIT} and
 * the other gateway tests hold them to it.
 */
public final class UpstreamClient implements AutoCloseable {

  /** Bodies up to this size are held in memory so they can be replayed on a retry. */
  static final int REPLAYABLE_BODY_BYTES = 64 << 10;
  /** A dead upstream is found out quickly, so retries on the next one stay cheap. */
  private static final int CONNECT_TIMEOUT_MILLIS = 2_000;

  private final ClientFactory factory;
  /** Requests whose body is in memory, to {@code http://} upstreams. */
  private final Http1Upstreams http1;
  private final ConcurrentHashMap<Upstream, Target> clients = new ConcurrentHashMap<>();

  /** An upstream's client and its authority ({@code host:port}), made once. */
  private record Target(WebClient client, String authority) {}
  private final ConcurrentHashMap<String, AtomicInteger> nextUpstream = new ConcurrentHashMap<>();

  /** A client on Armeria's common event loops, the ones the proxy port serves on. */
  public UpstreamClient() {
    this(CommonPools.workerGroup());
  }

  /** A client whose connections live on {@code workerGroup}, the proxy server's event loops. */
  public UpstreamClient(EventLoopGroup workerGroup) {
    this.factory = ClientFactory.builder()
        .workerGroup(workerGroup, false)
        .eventLoopSchedulerFactory(SameEventLoopScheduler::new)
        .connectTimeout(Duration.ofMillis(CONNECT_TIMEOUT_MILLIS))
        .idleTimeout(Duration.ofSeconds(60))
        .build();
    this.http1 = new Http1Upstreams(workerGroup, EventLoopGroups.socketChannelType(workerGroup),
        CONNECT_TIMEOUT_MILLIS);
  }

  /**
   * Sends each upstream request on the event loop it is made from, the one of the client
   * exchange it belongs to, so the upstream's answer is read and relayed on one thread. Armeria's
   * default picks an event loop per endpoint: the upstream exchange then ran on another thread
   * than the client's, and every request and answer crossed between two event loops (a task
   * queue and a wake-up each way). Connections are pooled per event loop, as before. A call from
   * any other thread gets the group's event loops in turn.
   */
  static final class SameEventLoopScheduler implements EventLoopScheduler {
    private final List<Held> loops = new ArrayList<>();
    private final AtomicInteger next = new AtomicInteger();

    SameEventLoopScheduler(EventLoopGroup group) {
      for (EventExecutor e : group) {
        loops.add(new Held((EventLoop) e));
      }
    }

    @Override
    public ReleasableHolder<EventLoop> acquire(SessionProtocol protocol,
        EndpointGroup endpointGroup, Endpoint endpoint) {
      for (Held h : loops) {
        if (h.get().inEventLoop()) {
          return h;
        }
      }
      return loops.get(Math.floorMod(next.getAndIncrement(), loops.size()));
    }

    private record Held(EventLoop get) implements ReleasableHolder<EventLoop> {
      @Override
      public void release() {}
    }
  }

  /**
   * Sends {@code method} {@code path} with {@code headers} (Host set per upstream here; the
   * values are sent as they are) and the body of {@code original}, of {@code length} bytes (-1:
   * unknown). The answer carries the upstream's response, or a JSON 502/504/413; its headers (not
   * an informational answer's) lose the hop-by-hop ones and are completed by {@code decorate}.
   */
  public HttpResponse send(Route route, HttpMethod method, String path, long length,
      io.netty.handler.codec.http.HttpHeaders headers, HttpRequest original,
      Consumer<ResponseHeadersBuilder> decorate) {
    boolean noBody = length == 0 || (length < 0 && !mayHaveBody(method));
    int start = Math.floorMod(nextUpstream.computeIfAbsent(route.name(), n -> new AtomicInteger())
        .getAndIncrement(), route.upstreams().size());
    boolean replayable = noBody || (length > 0 && length <= REPLAYABLE_BODY_BYTES);
    if (replayable && allHttp1(route)) {
      HttpResponseWriter out = HttpResponse.streaming();
      if (noBody) {
        original.abort();
        http1Attempt(route, method, path, headers, null, start, 0, out, decorate);
      } else {
        original.aggregate().handle((agg, err) -> {
          if (err != null) {
            writeError(out, status(err), decorate);
          } else {
            http1Attempt(route, method, path, headers, agg.content().array(), start, 0, out,
                decorate);
          }
          return null;
        });
      }
      return out;
    }
    Function<HttpStatus, HttpResponse> errors = status -> HttpResponse.of(errorHeaders(status),
        errorBody(status));
    RequestHeaders armeriaHeaders = armeria(method, path, headers);
    HttpResponse res;
    if (noBody) {
      original.abort();
      res = attempt(route, armeriaHeaders, h -> HttpRequest.of(h), start, 0, errors);
    } else if (replayable) {
      res = HttpResponse.of(original.aggregate().handle((agg, err) -> {
        if (err != null) {
          return errors.apply(status(err));
        }
        return attempt(route, armeriaHeaders, h -> replay(h, agg), start, 0, errors);
      }));
    } else {
      res = attempt(route, armeriaHeaders, h -> original.withHeaders(h), start, route.retries(),
          errors);
    }
    return res.mapHeaders(rh -> {
      if (rh.status().isInformational()) {
        return rh;
      }
      ResponseHeadersBuilder b = rh.toBuilder();
      for (AsciiString n : ProxyService.HOP_BY_HOP) {
        b.remove(n);
      }
      decorate.accept(b);
      return b.build();
    });
  }

  /** The request's headers for Armeria's client, which checks every value again. */
  private static RequestHeaders armeria(HttpMethod method, String path,
      io.netty.handler.codec.http.HttpHeaders headers) {
    RequestHeadersBuilder b = RequestHeaders.builder(method, path).scheme("http");
    Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();
    while (it.hasNext()) {
      Map.Entry<CharSequence, CharSequence> e = it.next();
      b.add(e.getKey(), e.getValue().toString());
    }
    return b.build();
  }

  private static boolean allHttp1(Route route) {
    for (Upstream u : route.upstreams()) {
      if (!u.scheme().equals("http")) {
        return false;
      }
    }
    return true;
  }

  /**
   * One attempt over {@link Http1Upstreams}, writing into {@code out}; an upstream that could not
   * be reached leaves {@code out} untouched, so the next attempt (the next upstream) writes it.
   */
  private void http1Attempt(Route route, HttpMethod method, String path,
      io.netty.handler.codec.http.HttpHeaders headers, byte[] body, int start, int attempt,
      HttpResponseWriter out, Consumer<ResponseHeadersBuilder> decorate) {
    Upstream u = route.upstreams().get((start + attempt) % route.upstreams().size());
    http1.send(u, target(u).authority(), method, path, headers,
        body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body),
        route.timeoutMillis(), out, decorate, new Http1Upstreams.Outcome() {
          @Override
          public void unprocessed(Throwable cause) {
            if (attempt < route.retries()) {
              http1Attempt(route, method, path, headers, body, start, attempt + 1, out,
                  decorate);
            } else {
              writeError(out, HttpStatus.BAD_GATEWAY, decorate);
            }
          }

          @Override
          public void failed(HttpStatus status) {
            writeError(out, status, decorate);
          }
        });
  }

  private static void writeError(HttpResponseWriter out, HttpStatus status,
      Consumer<ResponseHeadersBuilder> decorate) {
    ResponseHeadersBuilder b = errorHeaders(status).toBuilder();
    decorate.accept(b);
    if (out.tryWrite(b.build())) {
      out.tryWrite(errorBody(status));
    }
    out.close();
  }

  private static ResponseHeaders errorHeaders(HttpStatus status) {
    return ResponseHeaders.builder(status).contentType(MediaType.JSON_UTF_8).build();
  }

  private static HttpData errorBody(HttpStatus status) {
    return HttpData.ofUtf8("{\"message\":\"" + status.reasonPhrase() + "\"}");
  }

  /** Whether a request without Content-Length may still carry a body (a chunked upload). */
  static boolean mayHaveBody(HttpMethod method) {
    return switch (method) {
      case GET, HEAD, DELETE, OPTIONS, TRACE -> false;
      default -> true;
    };
  }

  private static HttpRequest replay(RequestHeaders h, AggregatedHttpRequest agg) {
    return HttpRequest.of(h, agg.content(), agg.trailers());
  }

  private HttpResponse attempt(Route route, RequestHeaders headers,
      Function<RequestHeaders, HttpRequest> body, int start, int attempt,
      Function<HttpStatus, HttpResponse> errors) {
    Target t = target(route.upstreams().get((start + attempt) % route.upstreams().size()));
    RequestHeadersBuilder b = headers.toBuilder().authority(t.authority());
    HttpRequest req = body.apply(b.build());
    RequestOptions options = RequestOptions.builder()
        .responseTimeoutMillis(route.timeoutMillis())
        // Responses stream through; their size is the upstream's business.
        .maxResponseLength(0)
        .build();
    HttpResponse res = t.client().execute(req, options);
    return res.recover(cause -> {
      Throwable c = Exceptions.peel(cause);
      if (c instanceof UnprocessedRequestException && attempt < route.retries()) {
        return attempt(route, headers, body, start, attempt + 1, errors);
      }
      return errors.apply(status(c));
    });
  }

  private static HttpStatus status(Throwable cause) {
    Throwable c = Exceptions.peel(cause);
    if (c instanceof ResponseTimeoutException) {
      return HttpStatus.GATEWAY_TIMEOUT;
    }
    if (c instanceof ContentTooLargeException) {
      return HttpStatus.REQUEST_ENTITY_TOO_LARGE;
    }
    return HttpStatus.BAD_GATEWAY;
  }

  private Target target(Upstream u) {
    Target t = clients.get(u);
    if (t == null) {
      t = clients.computeIfAbsent(u, x -> new Target(WebClient.builder(
          x.scheme().equals("h2c") ? SessionProtocol.H2C : SessionProtocol.H1C,
          Endpoint.of(x.host(), x.port())).factory(factory).build(), x.host() + ":" + x.port()));
    }
    return t;
  }

  @Override
  public void close() {
    factory.close();
    http1.close();
  }
}
