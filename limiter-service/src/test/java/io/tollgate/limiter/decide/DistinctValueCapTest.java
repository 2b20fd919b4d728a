package io.tollgate.limiter.decide;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.rule.LimitUnit;
import io.tollgate.limiter.rule.RateLimitRule;
import io.tollgate.limiter.testing.FakeClock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The per-rule cap on distinct counters, by an injected clock. */
class DistinctValueCapTest {

  private final FakeClock clock = new FakeClock();
  private final List<RateLimitRule> capped = new ArrayList<>();

  private static RateLimitRule rule(String statKey) {
    return new RateLimitRule("", LimitUnit.SECOND, 10,
        LimitAlgorithm.of(LimitAlgorithm.Kind.FIXED_WINDOW, 10, LimitUnit.SECOND.nanos(), 0),
        false, false, false, false, List.of(), statKey, "0:0:1");
  }

  @Test
  void valuesPastTheCapShareOneOverflowCounterAndKnownValuesKeepTheirs() {
    DistinctValueCap cap = new DistinctValueCap(3, clock, capped::add);
    RateLimitRule r = rule("edge.remote_address");
    for (String k : List.of("a", "b", "c")) {
      assertEquals(k, cap.admit("edge", r, k));
    }
    String overflow = cap.admit("edge", r, "d");
    assertTrue(overflow.startsWith("~4:edge19:edge.remote_address"), overflow);
    assertEquals(overflow, cap.admit("edge", r, "e"));
    assertEquals(List.of(r, r), capped);
    // Known values are not affected, however often they come.
    for (int i = 0; i < 5; i++) {
      assertEquals("a", cap.admit("edge", r, "a"));
      assertEquals("c", cap.admit("edge", r, "c"));
    }
    assertEquals(2, capped.size());
  }

  @Test
  void rulesAreCappedApart() {
    DistinctValueCap cap = new DistinctValueCap(2, clock, capped::add);
    RateLimitRule one = rule("edge.ip");
    RateLimitRule two = rule("edge.user");
    assertEquals("x", cap.admit("edge", one, "x"));
    assertEquals("y", cap.admit("edge", one, "y"));
    assertNotEquals("z", cap.admit("edge", one, "z"));
    assertEquals("z", cap.admit("edge", two, "z"));
    assertEquals(List.of(one), capped);
  }

  @Test
  void idleValuesAreForgottenAndFreeTheirPlace() {
    DistinctValueCap cap = new DistinctValueCap(2, clock, capped::add);
    RateLimitRule r = rule("edge.ip");
    cap.admit("edge", r, "first");
    cap.admit("edge", r, "old");
    assertNotEquals("new", cap.admit("edge", r, "new"));
    // Idle for a minute (twice a one-second window, at least a minute): "old" is forgotten.
    clock.advance(61, TimeUnit.SECONDS);
    cap.admit("edge", r, "first");
    assertEquals("new", cap.admit("edge", r, "new"));
  }

  @Test
  void offNeverCaps() {
    RateLimitRule r = rule("edge.ip");
    for (int i = 0; i < 1_000; i++) {
      assertEquals("v" + i, DistinctValueCap.OFF.admit("edge", r, "v" + i));
    }
  }
}
