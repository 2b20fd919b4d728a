package io.tollgate.limiter;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.api.AdminAuth;
import io.tollgate.limiter.api.AdminServiceImpl;
import io.tollgate.limiter.api.CheckServiceImpl;
import io.tollgate.limiter.api.RateLimitServiceImpl;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.config.ConfigException;
import io.tollgate.limiter.config.ConfigLoader;
import io.tollgate.limiter.config.ConfigWatcher;
import io.tollgate.limiter.config.LoadedConfig;
import io.tollgate.limiter.grid.HazelcastCatalog;
import io.tollgate.limiter.grid.BucketedLimitStore;
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
import io.tollgate.limiter.rlqs.ShareGrid;
import io.tollgate.limiter.rule.RuleSet;
import io.tollgate.limiter.service.Catalog;
import io.tollgate.limiter.service.CheckService;
import io.tollgate.limiter.service.PlanAdmin;
import io.tollgate.limiter.service.RateLimitService;
import io.tollgate.limiter.service.ServiceOptions;
import io.tollgate.limiter.store.CatalogStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
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

  /** HTTP/2 streams one client connection may have open at once (Envoy opens few connections). */
  private static final int MAX_CALLS_PER_CONNECTION = 10_000;

  private final Settings settings;
  private final WallClock clock;
  private final LimiterMetrics metrics = new LimiterMetrics();
  private final AtomicReference<RuleSet> rules = new AtomicReference<>(RuleSet.EMPTY);
  private final AtomicReference<PlanConfig> planConfig = new AtomicReference<>(PlanConfig.DEFAULT);
  private final AtomicReference<Catalog> catalog = new AtomicReference<>();
  private final HealthStatusManager health = new HealthStatusManager();
  private volatile boolean serving;
  private HazelcastInstance member;
  private BucketedLimitStore counters;
  private Server grpc;
  private ExecutorService grpcExecutor;
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

    Config config = GridMember.config(settings.clusterName, settings.bind, settings.clusterPort,
        settings.memberList(), clock);
    if ("kubernetes".equals(settings.discovery)) {
      GridMember.discoverOnKubernetes(config, settings.kubernetesServiceDns, settings.clusterPort);
    }
    HazelcastCatalog.configure(config, database.plans(), database.keys(),
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
    ShareGrid.configure(config, clock);
    member = GridMember.start(config);
    BucketedLimitStore store = new BucketedLimitStore(member, clock);
    counters = store;
    registerGridGauges(store);
    HazelcastCatalog catalogStore = new HazelcastCatalog(member, database.plans(),
        database.keys(), quotaRepository);
    Catalog plans = new Catalog(catalogStore, planConfig::get);
    catalog.set(plans);
    plans.start();
    CheckService checks = new CheckService(plans, store, catalogStore.quotas(), clock,
        metrics);
    PlanAdmin admin = new PlanAdmin(plans, clock);
    adminExecutor = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "tollgate-admin");
      t.setDaemon(true);
      return t;
    });

    RateLimitService service = new RateLimitService(rules::get, store, metrics,
        new ServiceOptions(settings.nearLimitRatio, settings.shadowMode,
            settings.responseHeaders));

    rlqs = new RlqsService(rules::get, store, new ShareGrid(member), metrics,
        RlqsOptions.of(settings.rlqsUnmatchedDenyAll(), settings.rlqsMinTtlMillis * 1_000_000L,
            settings.nearLimitRatio), clock::epochNanos);

    // Calls only match rules in memory and hand off to the grid, so a small fixed pool suffices:
    // a burst of calls queues instead of growing threads. The queue is not bounded; each client
    // connection may have at most MAX_CALLS_PER_CONNECTION calls open.
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    grpcExecutor = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "tollgate-grpc");
      t.setDaemon(true);
      return t;
    });
    grpc = NettyServerBuilder.forAddress(new InetSocketAddress(settings.bind, settings.grpcPort))
        .executor(grpcExecutor)
        .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
        .addService(new RateLimitServiceImpl(service, metrics))
        .addService(rlqs.service())
        .addService(new CheckServiceImpl(checks))
        .addService(ServerInterceptors.intercept(new AdminServiceImpl(admin, adminExecutor), auth))
        .addService(health.getHealthService())
        .build()
        .start();
    LOG.info("gRPC listening on " + settings.bind + ":" + grpc.getPort());

    http = new HttpEndpoints(new InetSocketAddress(settings.bind, settings.httpPort), service,
        metrics, () -> serving);
    adminEndpoints = new AdminEndpoints(admin, checks, auth);
    adminEndpoints.register(http);
    http.start();
    if (!auth.enabled()) {
      LOG.info("admin API closed: no admin token configured");
    }
    LOG.info("HTTP listening on " + settings.bind + ":" + http.port());

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

  private void registerGridGauges(BucketedLimitStore store) {
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
        "Limit states whose primary is on this member (as of the last sweep)", store::localOwnedEntries);
    metrics.gauge("ratelimit.counters.backup_entries",
        "Limit states backed up on this member (as of the last sweep)", store::localBackupEntries);
    // Their ratio is the batching: decisions carried per grid operation.
    metrics.functionCounter("ratelimit.counters.grid_operations",
        "Grid operations sent by this member with limit decisions and refunds",
        s -> ((BucketedLimitStore) s).batchesSent(), store);
    metrics.functionCounter("ratelimit.counters.grid_calls",
        "Limit decisions and refunds sent by this member to the grid",
        s -> ((BucketedLimitStore) s).callsSent(), store);
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
      grpcExecutor.shutdown();
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
