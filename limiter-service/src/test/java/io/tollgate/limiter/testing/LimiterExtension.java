package io.tollgate.limiter.testing;

import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One {@link InJvmLimiter} for a whole test class, on a rule file from the test resources:
 * <pre>{@code
 * @RegisterExtension
 * static final LimiterExtension LIMITER = new LimiterExtension("/service/rules.yaml");
 * }</pre>
 * Started before the first test and stopped after the last.
 */
public final class LimiterExtension implements BeforeAllCallback, AfterAllCallback {

  private final String rulesResource;
  private final FakeClock clock = new FakeClock();
  private InJvmLimiter limiter;

  public LimiterExtension(String rulesResource) {
    this.rulesResource = rulesResource;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    limiter = InJvmLimiter.start(Path.of(LimiterExtension.class.getResource(rulesResource)
        .toURI()), clock);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (limiter != null) {
      limiter.close();
    }
  }

  /** The running limiter. */
  public InJvmLimiter limiter() {
    return limiter;
  }

  /** Its clock, which the test moves. */
  public FakeClock clock() {
    return clock;
  }
}
