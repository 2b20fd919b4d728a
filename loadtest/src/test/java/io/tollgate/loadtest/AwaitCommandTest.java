package io.tollgate.loadtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.loadtest.target.Target;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AwaitCommandTest {

  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  /** Real time a probe may take in these tests before it counts as unanswered. */
  private static final long PROBE_WAIT = TimeUnit.MILLISECONDS.toNanos(50);

  /** Answers each probe as scripted: a probe past the end of the script is never answered. */
  private static final class ScriptedTarget implements Target {
    private final List<Outcome> script;
    private final AtomicLong clock;
    private final long nanosPerProbe;
    private final List<Callback> unanswered = new ArrayList<>();
    int probes;

    ScriptedTarget(AtomicLong clock, long nanosPerProbe, Outcome... script) {
      this.clock = clock;
      this.nanosPerProbe = nanosPerProbe;
      this.script = Arrays.asList(script);
    }

    @Override
    public void send(int[] keys, Callback callback) {
      clock.addAndGet(nanosPerProbe);
      Outcome o = probes < script.size() ? script.get(probes) : null;
      probes++;
      if (o == null) {
        unanswered.add(callback);
      } else {
        callback.done(o, o == Outcome.ERROR ? "UNAVAILABLE: connection refused" : null);
      }
    }

    @Override
    public String describe() {
      return "scripted";
    }

    @Override
    public void close() {}
  }

  @Test
  void aProbeThatIsSlowOnceIsRetried() throws Exception {
    AtomicLong clock = new AtomicLong();
    // null: the first probe gets no answer in time (a busy machine); the second is allowed.
    ScriptedTarget target = new ScriptedTarget(clock, SECOND, null, Target.Outcome.ALLOWED);
    assertNull(AwaitCommand.probeUntil(target, 60 * SECOND, clock::get, PROBE_WAIT, ms -> { }));
    assertEquals(2, target.probes);
  }

  @Test
  void refusedProbesAreRetriedUntilTheDeadline() throws Exception {
    AtomicLong clock = new AtomicLong();
    ScriptedTarget target = new ScriptedTarget(clock, SECOND, Target.Outcome.ERROR,
        Target.Outcome.ERROR, Target.Outcome.ERROR, Target.Outcome.ERROR, Target.Outcome.ERROR,
        Target.Outcome.ERROR, Target.Outcome.ERROR);
    String failure = AwaitCommand.probeUntil(target, 5 * SECOND, clock::get, PROBE_WAIT,
        ms -> { });
    assertEquals("UNAVAILABLE: connection refused", failure);
    assertEquals(5, target.probes);
  }

  @Test
  void aTargetThatNeverAnswersIsReportedAtTheDeadline() throws Exception {
    AtomicLong clock = new AtomicLong();
    ScriptedTarget target = new ScriptedTarget(clock, SECOND);
    String failure = AwaitCommand.probeUntil(target, 3 * SECOND, clock::get, PROBE_WAIT,
        ms -> { });
    assertEquals(3, target.probes);
    assertTrue(failure.startsWith("no answer within"), failure);
  }

  @Test
  void aDeniedProbeIsADecision() throws Exception {
    AtomicLong clock = new AtomicLong();
    ScriptedTarget target = new ScriptedTarget(clock, SECOND, Target.Outcome.DENIED);
    assertNull(AwaitCommand.probeUntil(target, 60 * SECOND, clock::get, PROBE_WAIT, ms -> { }));
  }
}
