package io.tollgate.gateway;

import com.github.benmanes.caffeine.cache.Ticker;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.util.EventLoopGroups;
import com.linecorp.armeria.common.util.Exceptions;
import com.linecorp.armeria.server.RequestTimeoutException;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServerBuilder;
import com.linecorp.armeria.server.ServerTlsConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.ClientAuth;
import com.linecorp.armeria.server.ServerErrorHandler;
import com.linecorp.armeria.server.ServiceConfig;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.tollgate.api.v1.CheckRequest;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The composition root: loads the config, builds the limiter client, the upstream client, the
 * stage caches, metrics and access log, and starts the proxy and admin ports. {@link #close()}
 * drains the proxy port, then closes the rest.
 */
public final class GatewayServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(GatewayServer.class.getName());

  private final GatewaySettings settings;
  private final AtomicReference<GatewayConfig> config = new AtomicReference<>();
  private final Map<String, StageCache> caches = new ConcurrentHashMap<>();
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final EventLoopGroup eventLoops;
  private final DecisionClient decisions;
  private final UpstreamClient upstreams;
  private final AccessLog accessLog;
  private final Server proxy;
  private final Server admin;
  private final ConfigWatcher watcher;
  private final PemTlsProvider tls;
  private final ScheduledExecutorService tlsReloads;
  private volatile boolean ready;

  private GatewayServer(GatewaySettings settings, GatewayConfig initial, byte[] initialBytes)
      throws IOException {
    this.settings = settings;
    apply(initial);
    // One event loop per core by default, not Armeria's two: a request's work never blocks, and
    // on a small machine shared with the limiter and the upstream, twice as many threads as
    // cores meant fewer requests handled per wake-up and more CPU per request.
    this.eventLoops = EventLoopGroups.newEventLoopGroup(settings.eventLoops() > 0
        ? settings.eventLoops() : Runtime.getRuntime().availableProcessors(), "gateway-worker",
        true);
    try {
      this.decisions = new DecisionClient(settings.limiter(), settings.limiterTls(),
          settings.reloadIntervalMillis(), eventLoops, metrics, System::nanoTime,
          () -> probe(config.get()));
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot set up TLS to the limiter: " + e.getMessage(), e);
    }
    if (settings.tls() != null) {
      GatewaySettings.ServerTls t = settings.tls();
      this.tls = new PemTlsProvider(t.cert(), t.key(), t.clientCa());
      this.tlsReloads = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread th = new Thread(r, "tls-reload");
        th.setDaemon(true);
        return th;
      });
      tlsReloads.scheduleWithFixedDelay(tls::reloadIfChanged, settings.reloadIntervalMillis(),
          settings.reloadIntervalMillis(), TimeUnit.MILLISECONDS);
    } else {
      this.tls = null;
      this.tlsReloads = null;
    }
    metrics.breakerGauge(() -> decisions.breakerState(config.get().limiter())
        == CircuitBreaker.State.CLOSED ? 0 : 1);
    // The proxy port and the upstream client share the event loops, so an exchange stays on one.
    this.upstreams = new UpstreamClient(eventLoops);
    this.accessLog = new AccessLog(accessLogStream(settings.accessLog()),
        metrics.accessLogDropped());
    ProxyService service = new ProxyService(config::get, caches::get, decisions, upstreams,
        metrics, accessLog, System::nanoTime);

    GatewayConfig.ServerLimits limits = initial.server();
    this.proxy = listen(Server.builder(), settings.port())
        .workerGroup(eventLoops, false)
        .maxRequestLength(limits.maxBodyBytes())
        .http1MaxHeaderSize(limits.maxHeaderBytes())
        .http2MaxHeaderListSize(limits.maxHeaderBytes())
        // Each exchange is bounded per route in ProxyService (timeout_ms + limiter deadline +
        // an allowance); unmatched requests answer at once.
        .requestTimeoutMillis(0)
        .disableServerHeader()
        // An HTTP/1 answer's head leaves with its body, in one write (ResponseHeadHolder).
        .childChannelPipelineCustomizer(p -> p.addLast(new ResponseHeadHolder()))
        .errorHandler(new JsonErrors())
        .gracefulShutdownTimeout(Duration.ZERO, Duration.ofSeconds(settings.drainSeconds()))
        .serviceUnder("/", service)
        .build();
    var adminBuilder = listen(Server.builder(), settings.adminPort())
        .workerGroup(eventLoops, false)
        .disableServerHeader()
        .gracefulShutdownTimeout(Duration.ZERO, Duration.ofSeconds(1));
    new AdminService(metrics, caches::get, settings.adminToken(), this::notReadyReason)
        .bind(adminBuilder);
    this.admin = adminBuilder.build();
    proxy.start().join();
    admin.start().join();
    ready = true;
    this.watcher = new ConfigWatcher(settings.config(), initialBytes,
        settings.reloadIntervalMillis(), this::reload, metrics);
    LOG.info("gateway adapter for API '" + initial.api() + "' listening on "
        + settings.bind() + ":" + port() + " (admin " + adminPort() + ")"
        + (tls == null ? "" : settings.tls().clientCa() == null ? " over TLS" : " over mTLS")
        + ", limiter " + settings.limiter()
        + (settings.limiterTls().enabled() ? " over TLS" : "") + ", " + initial.stages().size() + " stages, "
        + initial.routes().size() + " routes");
  }

  /** The port on {@code bind}, plaintext or, with {@code --tls-cert}, TLS only. */
  private ServerBuilder listen(ServerBuilder b, int port) {
    InetSocketAddress address = new InetSocketAddress(settings.bind(), port);
    if (tls == null) {
      return b.http(address);
    }
    return b.https(address).tlsProvider(tls, ServerTlsConfig.builder()
        .clientAuth(settings.tls().clientCa() != null ? ClientAuth.REQUIRE : ClientAuth.NONE)
        .build());
  }

  /** Null when ready; else why not, for {@code /healthz}. */
  private String notReadyReason() {
    if (!ready) {
      return "starting or stopping";
    }
    return decisions.notReadyReason();
  }

  /**
   * The readiness probe: a key-requiring check without a key. The limiter answers FORBIDDEN
   * without reading or counting anything, which proves the whole path of a check.
   */
  static CheckRequest probe(GatewayConfig cfg) {
    return CheckRequest.newBuilder().setApi(cfg.api()).setStage(cfg.stages().get(0).name())
        .setMethod("GET").setRoute("/").setKeyRequired(true).setCost(1).build();
  }

  /** Loads the config and starts both ports. */
  public static GatewayServer start(GatewaySettings settings) throws ConfigException,
      IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(settings.config());
    } catch (IOException e) {
      throw new ConfigException(settings.config() + ": cannot read: " + e.getMessage());
    }
    GatewayConfig initial = ConfigLoader.parse(settings.config().getFileName().toString(),
        new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
    return new GatewayServer(settings, initial, bytes);
  }

  private void reload(GatewayConfig next) {
    GatewayConfig.ServerLimits before = config.get().server();
    if (!before.equals(next.server())) {
      LOG.warning("server.max_body_bytes and server.max_header_bytes take effect at the next "
          + "start; the running limits stay " + before);
    }
    apply(next);
  }

  /** Swaps the config in; keeps a stage's cache when its capacity did not change. */
  private void apply(GatewayConfig next) {
    for (GatewayConfig.Stage s : next.stages()) {
      StageCache c = caches.get(s.name());
      if (c == null || c.capacityBytes() != s.capacityBytes()) {
        caches.put(s.name(), new StageCache(s.capacityBytes(), Ticker.systemTicker()));
      }
    }
    caches.keySet().removeIf(name -> next.stage(name) == null);
    config.set(next);
  }

  private static OutputStream accessLogStream(String target) throws IOException {
    if (target == null || target.equals("off")) {
      return null;
    }
    if (target.equals("-")) {
      return new java.io.FileOutputStream(java.io.FileDescriptor.out);
    }
    Path p = Path.of(target);
    return new FileOutputStream(p.toFile(), true);
  }

  public int port() {
    return proxy.activeLocalPort();
  }

  public int adminPort() {
    return admin.activeLocalPort();
  }

  @Override
  public void close() throws Exception {
    ready = false;
    watcher.close();
    proxy.stop().join();
    admin.stop().join();
    upstreams.close();
    decisions.close();
    eventLoops.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    if (tlsReloads != null) {
      tlsReloads.shutdownNow();
    }
    accessLog.close();
    LOG.info("gateway adapter stopped");
  }

  /** Error answers Armeria produces itself (413, 431, 400, ...) as {"message": ...}. */
  private static final class JsonErrors implements ServerErrorHandler {
    @Override
    public HttpResponse onServiceException(ServiceRequestContext ctx, Throwable cause) {
      if (Exceptions.peel(cause) instanceof RequestTimeoutException) {
        // The exchange's bound (ProxyService): 408 while the client still owed its body, else
        // 504. Armeria closes an HTTP/1 connection whose request body was not fully read.
        HttpStatus status = ctx.log().isRequestComplete() ? HttpStatus.GATEWAY_TIMEOUT
            : HttpStatus.REQUEST_TIMEOUT;
        return HttpResponse.of(ResponseHeaders.builder(status).contentType(MediaType.JSON_UTF_8)
            .build(), HttpData.ofUtf8("{\"message\":\"" + status.reasonPhrase() + "\"}"));
      }
      return null;
    }

    @Override
    public AggregatedHttpResponse renderStatus(ServiceRequestContext ctx, ServiceConfig config,
        RequestHeaders headers, HttpStatus status, String description, Throwable cause) {
      return AggregatedHttpResponse.of(status, MediaType.JSON_UTF_8,
          "{\"message\":\"" + status.reasonPhrase() + "\"}");
    }

    @Override
    public AggregatedHttpResponse onProtocolViolation(ServiceConfig config,
        RequestHeaders headers, HttpStatus status, String description, Throwable cause) {
      return AggregatedHttpResponse.of(status, MediaType.JSON_UTF_8,
          "{\"message\":\"" + status.reasonPhrase() + "\"}");
    }
  }
}
