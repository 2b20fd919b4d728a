package io.tollgate.gateway;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Re-reads the config file every {@code intervalMillis} and applies it when its content changed
 * (edits, atomic renames and ConfigMap symlink swaps alike). A bad edit is logged and counted,
 * and the last good config stays in force; the same bad content is reported once.
 */
public final class ConfigWatcher implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ConfigWatcher.class.getName());

  private final Path file;
  private final Consumer<GatewayConfig> apply;
  private final GatewayMetrics metrics;
  private final ScheduledExecutorService timer;
  private byte[] lastSeen;

  /**
   * Starts watching; {@code initialBytes} is the content the running config was loaded from.
   */
  public ConfigWatcher(Path file, byte[] initialBytes, long intervalMillis,
      Consumer<GatewayConfig> apply, GatewayMetrics metrics) {
    this.file = file;
    this.apply = apply;
    this.metrics = metrics;
    this.lastSeen = initialBytes;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "config-watcher");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(this::poll, intervalMillis, intervalMillis,
        TimeUnit.MILLISECONDS);
  }

  /** Checks the file once; public for tests and for SIGHUP-like triggers. */
  public synchronized void poll() {
    byte[] now;
    try {
      now = Files.readAllBytes(file);
    } catch (IOException e) {
      if (lastSeen != null) {
        LOG.warning("config " + file + " cannot be read (" + e + "); keeping the last good one");
        metrics.configLoad("error", 1);
        lastSeen = null;
      }
      return;
    }
    if (Arrays.equals(now, lastSeen)) {
      return;
    }
    lastSeen = now;
    try {
      GatewayConfig config = ConfigLoader.parse(file.getFileName().toString(),
          new String(now, java.nio.charset.StandardCharsets.UTF_8));
      apply.accept(config);
      metrics.configLoad("success", 1);
      LOG.info("reloaded config " + file + ": " + config.stages().size() + " stages, "
          + config.routes().size() + " routes");
    } catch (ConfigException e) {
      metrics.configLoad("error", 1);
      LOG.warning("bad config, keeping the last good one: " + e.getMessage());
    } catch (RuntimeException e) {
      metrics.configLoad("error", 1);
      LOG.log(Level.WARNING, "config reload failed, keeping the last good one", e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
