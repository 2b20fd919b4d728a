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
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.RequestHeadersBuilder;
import com.linecorp.armeria.common.CommonPools;
import com.linecorp.armeria.common.SessionProtocol;
import com.linecorp.armeria.common.util.Exceptions;
import com.linecorp.armeria.common.util.ReleasableHolder;
import io.tollgate.gateway.GatewayConfig.Route;
import io.tollgate.gateway.GatewayConfig.Upstream;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Sends a request to one of a route's upstreams, round robin, and retries on the next upstream
 * only when no connection could be made (Armeria's {@link UnprocessedRequestException}: the
 * upstream never saw the request). Anything else (a timeout, a reset after sending, any status) is
 * final. A timeout answers 504, an unreachable upstream 502.
 *
 * <p>A request body is streamed to the upstream, not buffered, so it can be sent only once: a
 * request with a body larger than {@link #REPLAYABLE_BODY_BYTES} (or of unknown length) gets one
 * attempt. Smaller bodies are held so a connection failure can be retried.
 */
public final class UpstreamClient implements AutoCloseable {

  /** Bodies up to this size are held in memory so they can be replayed on a retry. */
  static final int REPLAYABLE_BODY_BYTES = 64 << 10;

  private final ClientFactory factory;
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
        // A dead upstream is found out quickly, so retries on the next one stay cheap.
        .connectTimeout(Duration.ofSeconds(2))
        .idleTimeout(Duration.ofSeconds(60))
        .build();
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
   * Sends {@code headers} (authority set per upstream here) with the body of {@code original}.
   * The answer carries the upstream's response, or a JSON 502/504/413 from {@code errors}.
   */
  public HttpResponse send(Route route, RequestHeaders headers, HttpRequest original,
      Function<HttpStatus, HttpResponse> errors) {
    long length = headers.contentLength();
    boolean noBody = length == 0 || (length < 0 && !mayHaveBody(headers));
    int start = Math.floorMod(nextUpstream.computeIfAbsent(route.name(), n -> new AtomicInteger())
        .getAndIncrement(), route.upstreams().size());
    if (noBody) {
      original.abort();
      return attempt(route, headers, h -> HttpRequest.of(h), start, 0, errors);
    }
    if (length > 0 && length <= REPLAYABLE_BODY_BYTES) {
      return HttpResponse.of(original.aggregate().handle((agg, err) -> {
        if (err != null) {
          return errors.apply(status(err));
        }
        return attempt(route, headers, h -> replay(h, agg), start, 0, errors);
      }));
    }
    return attempt(route, headers, h -> original.withHeaders(h), start, route.retries(), errors);
  }

  /** Whether a request without Content-Length may still carry a body (a chunked upload). */
  static boolean mayHaveBody(RequestHeaders h) {
    return switch (h.method()) {
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
  }
}
