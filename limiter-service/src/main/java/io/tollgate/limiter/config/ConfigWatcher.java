package io.tollgate.limiter.config;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reloads the config (rules and plans) when its files change. It polls: it reads the files every
 * interval and reloads when their names or contents differ from the last read. Polling works the
 * same for edits in place, atomic renames and the symlink swaps of a Kubernetes ConfigMap, where
 * file system events are unreliable.
 *
 * <p>A good edit replaces the rules and plans together; a bad one (in a rule file or in the plans
 * file) is logged, counted, and leaves the last good config in force. An unchanged bad file is not
 * reported again.
 */
public final class ConfigWatcher implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ConfigWatcher.class.getName());

  /** The outcome of a reload, for metrics. */
  public interface Listener {
    /** Called after each reload attempt. */
    void reloaded(boolean success);
  }

  private final Path path;
  private final Consumer<LoadedConfig> onLoad;
  private final Listener listener;
  private final ScheduledExecutorService timer;
  private Map<String, String> lastSeen;

  /**
   * @param path the config file or directory
   * @param initial the contents the current config was loaded from
   * @param onLoad receives each good new config
   * @param listener told of each attempt
   */
  public ConfigWatcher(Path path, Map<String, String> initial, Consumer<LoadedConfig> onLoad,
      Listener listener) {
    this.path = path;
    this.lastSeen = initial;
    this.onLoad = onLoad;
    this.listener = listener;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "tollgate-config-watcher");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts polling every {@code intervalMillis}. */
  public void start(long intervalMillis) {
    timer.scheduleWithFixedDelay(this::poll, intervalMillis, intervalMillis,
        TimeUnit.MILLISECONDS);
  }

  /** Checks the files once; visible for tests. */
  void poll() {
    try {
      Map<String, String> texts;
      try {
        texts = ConfigLoader.read(path);
      } catch (ConfigException e) {
        // A file being replaced can be missing for a moment; report only what persists.
        Map<String, String> missing = Map.of("\0error", e.getMessage());
        if (!missing.equals(lastSeen)) {
          lastSeen = missing;
          LOG.warning("config reload failed, keeping the last good config: " + e.getMessage());
          listener.reloaded(false);
        }
        return;
      }
      if (texts.equals(lastSeen)) {
        return;
      }
      lastSeen = texts;
      LoadedConfig config;
      try {
        config = ConfigLoader.load(texts);
      } catch (ConfigException e) {
        LOG.warning("config reload failed, keeping the last good config: " + e.getMessage());
        listener.reloaded(false);
        return;
      }
      onLoad.accept(config);
      listener.reloaded(true);
      LOG.info("reloaded " + config.rules().limitCount() + " limits in "
          + config.rules().domains().size() + " domains, " + config.plans().plans().size()
          + " plans and " + config.plans().keys().size() + " keys from " + path);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "config reload failed, keeping the last good config", e);
      listener.reloaded(false);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
