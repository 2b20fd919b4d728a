package io.tollgate.limiter.config;

import io.tollgate.limiter.rule.RuleSet;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reloads the rules when the config files change. It polls: it reads the files every interval
 * and reloads when their names or contents differ from the last read. Polling works the same for
 * edits in place, atomic renames and the symlink swaps of a Kubernetes ConfigMap, where file
 * system events are unreliable.
 *
 * <p>A good edit replaces the rules; a bad one is logged, counted, and leaves the last good rules
 * in force. An unchanged bad file is not reported again.
 */
public final class ConfigWatcher implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(ConfigWatcher.class.getName());

  /** The outcome of a reload, for metrics. */
  public interface Listener {
    /** Called after each reload attempt. */
    void reloaded(boolean success);
  }

  private final Path path;
  private final Consumer<RuleSet> onLoad;
  private final Listener listener;
  private final ScheduledExecutorService timer;
  private Map<String, String> lastSeen;

  /**
   * @param path the config file or directory
   * @param initial the contents the current rules were loaded from
   * @param onLoad receives each good new rule set
   * @param listener told of each attempt
   */
  public ConfigWatcher(Path path, Map<String, String> initial, Consumer<RuleSet> onLoad,
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
      RuleSet rules;
      try {
        rules = ConfigLoader.parse(texts);
      } catch (ConfigException e) {
        LOG.warning("config reload failed, keeping the last good config: " + e.getMessage());
        listener.reloaded(false);
        return;
      }
      onLoad.accept(rules);
      listener.reloaded(true);
      LOG.info("reloaded " + rules.limitCount() + " limits in " + rules.domains().size()
          + " domains from " + path);
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
