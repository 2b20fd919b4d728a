package io.tollgate.limiter;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tollgate.api.v1.CheckServiceGrpc;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.api.AdminAuth;
import io.tollgate.limiter.api.AdminServiceImpl;
import io.tollgate.limiter.api.CallAdmission;
import io.tollgate.limiter.api.GrpcConnectionLimit;
import io.tollgate.limiter.api.GrpcConnections;
import io.tollgate.limiter.api.CheckServiceImpl;
import io.tollgate.limiter.api.RateLimitServiceImpl;
import io.tollgate.limiter.api.StrictParsing;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.config.ConfigException;
import io.tollgate.limiter.config.ConfigLoader;
import io.tollgate.limiter.config.ConfigWatcher;
import io.tollgate.limiter.config.LoadedConfig;
import io.tollgate.limiter.decide.Counters;
import io.tollgate.limiter.decide.DistinctValueCap;
import io.tollgate.limiter.grid.GridConfig;
import io.tollgate.limiter.grid.HazelcastCatalog;
import io.tollgate.limiter.grid.PartitionedLimitStore;
import io.tollgate.limiter.http.AdminEndpoints;
import io.tollgate.limiter.http.HttpEndpoints;
import io.tollgate.limiter.metrics.LimiterMetrics;
import io.tollgate.limiter.persist.Database;
import io.tollgate.limiter.persist.DatabaseSettings;
import io.tollgate.limiter.persist.KeyRepository;
import io.tollgate.limiter.persist.QuotaRepository;
import io.tollgate.limiter.plan.PlanConfig;
import io.tollgate.limiter.rlqs.RlqsOptions;
import io.tollgate.limiter.rlqs.RlqsService;
import io.tollgate.limiter.grid.ShareGrid;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.service.Catalog;
import io.tollgate.limiter.protocol.PlanCheck;
import io.tollgate.limiter.service.PlanAdmin;
import io.tollgate.limiter.protocol.RateLimitService;
import io.tollgate.limiter.service.ServiceOptions;
import io.tollgate.limiter.store.CatalogStore;
import io.tollgate.limiter.store.LimitStore;
import io.tollgate.limiter.store.OverLimitCache;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The composition root: builds every part by constructor and owns the start and stop order.
 *
 * <p>Start: rules (a bad config fails here, before any port opens), the database, the grid member,
 * the plan catalog, gRPC, HTTP, the config watcher, then health SERVING. Stop: health NOT_SERVING, stop accepting gRPC calls,
 * drain the calls in flight, stop HTTP, then leave the cluster gracefully so the partitions this
 * member owned move with their backups (the last member writes pending quota counts), then close
 * the database.
 */
public final class LimiterServer {

  private static final Logger LOG = Logger.getLogger(LimiterServer.class.getName());

  /** Largest gRPC message accepted: a request within every bound is far smaller. */
  static final int MAX_INBOUND_MESSAGE_BYTES = 1024 * 1024;

  private final Settings settings;
  private final WallClock clock;
  private final LimiterMetrics metrics = new LimiterMetrics();
  private final AtomicReference<RuleSet> rules = new AtomicReference<>(RuleSet.EMPTY);
  private final AtomicReference<PlanConfig> planConfig = new AtomicReference<>(PlanConfig.DEFAULT);
  private final AtomicReference<Catalog> catalog = new AtomicReference<>();
  private final HealthStatusManager health = new HealthStatusManager();
  private volatile boolean serving;
  private HazelcastInstance member;
  private PartitionedLimitStore counters;
  private Server grpc;
  private CallAdmission admission;
  private ServerTls tls;
  private final GrpcConnections grpcConnections = new GrpcConnections();
  private GrpcConnectionLimit grpcConnectionLimit;
  /** The gRPC port's acceptor and connection threads (NIO, as grpc-java's defaults). */
  private EventLoopGroup grpcBoss;
  private EventLoopGroup grpcWorkers;
  private HttpEndpoints http;
  private ConfigWatcher watcher;
  private Database database;
  private ExecutorService adminExecutor;
  private AdminEndpoints adminEndpoints;
  private RlqsService rlqs;

  /** Creates a server that reads time from {@code clock}. */
  public LimiterServer(Settings settings, WallClock clock) {
    this.settings = settings;
    this.clock = clock;
  }

  /**
   * Starts everything.
   *
   * @throws ConfigException if the rules cannot be loaded
   * @throws IOException if a port cannot be bound
   */
  public void start() throws ConfigException, IOException {
    Map<String, String> texts = ConfigLoader.read(settings.config);
    LoadedConfig loaded = ConfigLoader.load(texts);
    RuleSet initial = loaded.rules();
    rules.set(initial);
    planConfig.set(loaded.plans());
    metrics.configLoaded(true);
    LOG.info("loaded " + initial.limitCount() + " limits in " + initial.domains().size()
        + " domains from " + settings.config);

    AdminAuth auth = new AdminAuth(settings.adminToken());
    database = Database.open(new DatabaseSettings(settings.dbUrl, settings.dbUser,
        settings.dbPassword, settings.dataDir, settings.dbAutoServer));
    QuotaRepository quotaRepository = database.quotas();
    metrics.functionCounter("ratelimit.db.key_lookups",
        "API keys read from the database one at a time (a check's key not cached)",
        k -> ((KeyRepository) k).lookups(), database.keys());

    Config config = GridMember.config(GridMember.joinName(settings.clusterName,
        settings.clusterSecret()), settings.bind, settings.clusterPort,
        settings.memberList(), clock);
    if ("kubernetes".equals(settings.discovery)) {
      GridMember.discoverOnKubernetes(config, settings.kubernetesServiceDns, settings.clusterPort);
    }
    GridConfig.configureCatalog(config, database.plans(), database.keys(),
        quotaRepository, new CatalogStore.Listener() {
          // Notices can arrive while the member starts, before the catalog exists: then there is
          // nothing cached to drop yet.
          @Override
          public void keyChanged(String hash) {
            Catalog c = catalog.get();
            if (c != null) {
              c.keyChanged(hash);
            }
          }

          @Override
          public void plansChanged() {
            Catalog c = catalog.get();
            if (c != null) {
              c.plansChanged();
            }
          }
        });
    member = GridMember.start(config);
    // Acquires carry the time left of the gRPC call they decide, read on the calling thread.
    PartitionedLimitStore store = new PartitionedLimitStore(member, clock, () -> {
      io.grpc.Deadline deadline = io.grpc.Context.current().getDeadline();
      return deadline == null ? PartitionedLimitStore.NO_DEADLINE
          : deadline.timeRemaining(TimeUnit.NANOSECONDS);
    });
    counters = store;
    registerGridGauges(store);
    // Keys over their limit are denied here, without a grid call, until a unit could be free.
    LimitStore decisions = store;
    if (settings.overLimitCacheSize > 0) {
      OverLimitCache cache = new OverLimitCache(store, settings.overLimitCacheSize, clock);
      metrics.functionCounter("ratelimit.counters.over_limit_cache_hits",
          "Limit decisions denied from this member's cache of keys over their limit",
          c -> ((OverLimitCache) c).hits(), cache);
      decisions = cache;
    }
    HazelcastCatalog catalogStore = new HazelcastCatalog(member, database.plans(),
        database.keys(), quotaRepository);
    Catalog plans = new Catalog(catalogStore, planConfig::get);
    catalog.set(plans);
    plans.start();
    PlanCheck checks = new PlanCheck(plans, decisions, catalogStore.quotas(), clock,
        metrics);
    PlanAdmin admin = new PlanAdmin(plans, clock);
    adminExecutor = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "tollgate-admin");
      t.setDaemon(true);
      return t;
    });

    RateLimitService service = new RateLimitService(rules::get, decisions, metrics,
        new ServiceOptions(settings.nearLimitRatio, settings.shadowMode,
            settings.responseHeaders),
        new DistinctValueCap(settings.maxDistinctValuesPerRule, clock,
            rule -> metrics.distinctValuesCapped(rule.statKey())));

    rlqs = new RlqsService(rules::get, store, new ShareGrid(member), metrics,
        RlqsOptions.of(settings.rlqsUnmatchedDenyAll(), settings.rlqsMinTtlMillis * 1_000_000L,
            settings.nearLimitRatio), clock::epochNanos);

    // Decisions (Envoy's ShouldRateLimit, the plan Check) only match rules in memory and hand
    // off to the grid: they run on the transport thread. Every other call (admin, RLQS streams,
    // health) goes to a small fixed pool: a burst queues instead of growing threads, and past
    // --grpc-max-queued waiting calls a new call is answered RESOURCE_EXHAUSTED (CallAdmission).
    admission = new CallAdmission(settings.grpcThreads(), settings.grpcMaxQueued, Set.of(
        RateLimitServiceGrpc.getShouldRateLimitMethod().getFullMethodName(),
        CheckServiceGrpc.getCheckMethod().getFullMethodName()));
    metrics.functionCounter("ratelimit.grpc.calls_refused",
        "gRPC calls answered RESOURCE_EXHAUSTED because the call queue was full",
        a -> ((CallAdmission) a).refusedCalls(), admission);
    metrics.gauge("ratelimit.grpc.queued_tasks", "gRPC call tasks waiting for a thread",
        admission::queuedTasks);
    metrics.gauge("ratelimit.grpc.connections", "gRPC connections open",
        grpcConnections::openConnections);
    metrics.functionCounter("ratelimit.grpc.connections_opened",
        "gRPC connections accepted since start",
        c -> ((GrpcConnections) c).openedConnections(), grpcConnections);
    if (settings.tls()) {
      try {
        tls = new ServerTls(Path.of(settings.tlsCert), Path.of(settings.tlsKey),
            settings.tlsClientCa == null || settings.tlsClientCa.isEmpty() ? null
                : Path.of(settings.tlsClientCa), settings.tlsReloadSeconds);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot load the TLS files: " + e.getMessage(), e);
      }
    }
    // The connection bound sits on the listening socket (GrpcConnectionLimit), which grpc-java
    // takes only with event loops of the caller's: the same kind and number as its defaults.
    grpcConnectionLimit = new GrpcConnectionLimit(settings.grpcMaxConnections);
    metrics.functionCounter("ratelimit.grpc.connections_refused",
        "gRPC connections closed on accept because --grpc-max-connections were open",
        l -> ((GrpcConnectionLimit) l).refusedConnections(), grpcConnectionLimit);
    grpcBoss = new MultiThreadIoEventLoopGroup(1,
        new DefaultThreadFactory("grpc-boss", true), NioIoHandler.newFactory());
    grpcWorkers = new MultiThreadIoEventLoopGroup(0,
        new DefaultThreadFactory("grpc-worker", true), NioIoHandler.newFactory());
    NettyServerBuilder grpcBuilder = NettyServerBuilder.forAddress(
        new InetSocketAddress(settings.bind, settings.grpcPort))
        .channelFactory(grpcConnectionLimit.channelFactory())
        .bossEventLoopGroup(grpcBoss)
        .workerEventLoopGroup(grpcWorkers);
    if (tls != null) {
      grpcBuilder.sslContext(tls.grpc());
    }
    grpc = grpcBuilder
        .directExecutor()
        .callExecutor(admission)
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .maxConcurrentCallsPerConnection(settings.grpcMaxCallsPerConnection)
        // Pings find peers that vanished without a FIN; clients may ping every 10 s, also
        // without calls (an RLQS stream can be quiet for its whole reporting interval).
        .keepAliveTime(settings.grpcKeepaliveSeconds, TimeUnit.SECONDS)
        .keepAliveTimeout(20, TimeUnit.SECONDS)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        // A connection is asked to go away after its age (clients reconnect, possibly to another
        // member behind a balancer), with 30 s for its calls to end.
        .maxConnectionAge(settings.grpcMaxConnectionAgeSeconds, TimeUnit.SECONDS)
        .maxConnectionAgeGrace(30, TimeUnit.SECONDS)
        .maxConnectionIdle(settings.grpcMaxConnectionIdleSeconds, TimeUnit.SECONDS)
        .addTransportFilter(grpcConnections)
        // Every request that does not parse (invalid UTF-8 in a string) is INVALID_ARGUMENT.
        .addService(StrictParsing.wrap(new RateLimitServiceImpl(service, metrics).bindService()))
        .addService(StrictParsing.wrap(rlqs.service()))
        .addService(StrictParsing.wrap(new CheckServiceImpl(checks).bindService()))
        .addService(StrictParsing.wrap(ServerInterceptors.intercept(
            new AdminServiceImpl(admin, adminExecutor), auth)))
        .addService(StrictParsing.wrap(health.getHealthService().bindService()))
        // Added last, so it runs first.
        .intercept(admission.interceptor())
        .build()
        .start();
    LOG.info("gRPC listening on " + settings.bind + ":" + grpc.getPort()
        + (tls == null ? "" : settings.tlsClientCa.isEmpty() ? " (TLS)" : " (mutual TLS)"));

    http = new HttpEndpoints(new InetSocketAddress(settings.bind, settings.httpPort),
        settings.httpLimits(), tls == null ? null : tls::http, service, metrics, () -> serving);
    adminEndpoints = new AdminEndpoints(admin, checks, auth, rules::get,
        new Counters(rules::get, decisions));
    adminEndpoints.register(http);
    try {
      http.start();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while binding the HTTP port", e);
    }
    if (!auth.enabled()) {
      LOG.info("admin API closed: no admin token configured");
    }
    LOG.info("HTTP listening on " + settings.bind + ":" + http.port()
        + (tls == null ? "" : settings.tlsClientCa.isEmpty() ? " (TLS)" : " (mutual TLS)"));

    watcher = new ConfigWatcher(settings.config, texts, c -> {
      rules.set(c.rules());
      planConfig.set(c.plans());
      rlqs.rulesChanged();
    }, metrics::configLoaded);
    watcher.start(settings.reloadIntervalMillis);

    serving = true;
    health.setStatus("", ServingStatus.SERVING);
    LOG.info("ready");
  }

  private void registerGridGauges(PartitionedLimitStore store) {
    metrics.gauge("ratelimit.cluster.members", "Members in the cluster",
        () -> member.getCluster().getMembers().size());
    metrics.gauge("ratelimit.cluster.partitions", "Partitions in the cluster",
        () -> member.getPartitionService().getPartitions().size());
    // Read from the local partition table only: a gauge must never wait on a remote member
    // (isClusterSafe() would, for a minute, while a crashed member is being removed).
    metrics.gauge("ratelimit.cluster.partitions_without_owner",
        "Partitions with no live owner; non-zero only while the cluster recovers from a loss",
        () -> {
          int n = 0;
          for (var p : member.getPartitionService().getPartitions()) {
            if (p.getOwner() == null) {
              n++;
            }
          }
          return n;
        });
    metrics.gauge("ratelimit.counters.owned_entries",
        "Limit states whose primary is on this member", store::localOwnedEntries);
    metrics.gauge("ratelimit.counters.backup_entries",
        "Limit states backed up on this member", store::localBackupEntries);
    // Their ratio is the batching: decisions carried per grid operation.
    metrics.functionCounter("ratelimit.counters.grid_operations",
        "Grid operations sent by this member with limit decisions and refunds",
        s -> ((PartitionedLimitStore) s).batchesSent(), store);
    metrics.functionCounter("ratelimit.counters.grid_calls",
        "Limit decisions and refunds sent by this member to the grid",
        s -> ((PartitionedLimitStore) s).callsSent(), store);
    metrics.functionCounter("ratelimit.counters.grid_retries",
        "Grid operations sent again because their owner left or did not answer",
        s -> ((PartitionedLimitStore) s).retries(), store);
    metrics.functionCounter("ratelimit.counters.expired_calls",
        "Limit decisions dropped, not applied, because their deadline passed first",
        s -> ((PartitionedLimitStore) s).expired(), store);
    java.util.function.LongSupplier unacknowledged = GridMember.unacknowledgedBackups(member);
    metrics.functionCounter("ratelimit.cluster.unacknowledged_backups",
        "Grid operations answered from the primary's result because a backup did not "
            + "acknowledge in time (e.g. it crashed)",
        s -> unacknowledged.getAsLong(), store);
  }

  /** Stops in order; safe to call more than once. */
  public synchronized void stop() {
    serving = false;
    health.enterTerminalState();
    if (watcher != null) {
      watcher.close();
    }
    if (rlqs != null) {
      // Long-lived RLQS streams would hold the drain open: end them, the proxies reconnect.
      rlqs.close();
    }
    if (grpc != null) {
      grpc.shutdown();
      try {
        if (!grpc.awaitTermination(settings.drainSeconds, TimeUnit.SECONDS)) {
          LOG.warning("calls still in flight after " + settings.drainSeconds + " s; cancelling");
          grpc.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        grpc.shutdownNow();
      }
      admission.close();
    }
    if (grpcBoss != null) {
      grpcBoss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
      grpcWorkers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    }
    if (http != null) {
      http.stop(1);
    }
    if (adminEndpoints != null) {
      adminEndpoints.stop();
    }
    if (adminExecutor != null) {
      adminExecutor.shutdownNow();
    }
    if (tls != null) {
      tls.close();
    }
    Catalog c = catalog.get();
    if (c != null) {
      c.close();
    }
    if (counters != null) {
      counters.close();
    }
    if (member != null && member.getLifecycleService().isRunning()) {
      // A graceful shutdown hands this member's partitions (and their pending quota writes) to
      // the others, or, as the last member, flushes the pending writes to the database.
      member.shutdown();
    }
    if (database != null) {
      database.close();
      database = null;
    }
    LOG.info("stopped");
  }

  /** The bound gRPC port. */
  public int grpcPort() {
    return grpc.getPort();
  }

  /** The bound HTTP port. */
  public int httpPort() {
    return http.port();
  }
}
