package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.testing.FakeClock;
import java.util.AbstractMap.SimpleEntry;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A batch on one bucket, run directly on an entry, as the owner's partition thread would. */
class BatchProcessorTest {

  private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);
  private final FakeClock clock = new FakeClock();
  private final LimitAlgorithm limit = new FixedWindow(2, MINUTE);

  private BatchOutcome run(Map.Entry<Integer, CounterBucket> entry, BatchProcessor p) {
    p.setClock(clock);
    return p.process(entry);
  }

  @Test
  void callsRunInOrderAndSeeEachOther() {
    Map.Entry<Integer, CounterBucket> entry = new SimpleEntry<>(3, null);
    BatchOutcome out = run(entry, new BatchProcessor(new String[] {"a", "a", "a", "b"},
        new LimitAlgorithm[] {limit, limit, limit, limit}, new long[] {1, 1, 1, 0},
        new Decision[4]));
    assertTrue(out.decision(0).allowed());
    assertTrue(out.decision(1).allowed());
    assertFalse(out.decision(2).allowed(), "the third unit of a limit of 2");
    assertEquals(2, out.decision(3).remaining(), "a report-only call");
    assertNotNull(entry.getValue());
    assertEquals(1, entry.getValue().size(), "denials and report-only calls store nothing");
  }

  @Test
  void aCallThatCannotBeAppliedFailsAloneAndTheOthersStillCountAndReachTheBackup() {
    Map.Entry<Integer, CounterBucket> entry = new SimpleEntry<>(3, null);
    BatchProcessor p = new BatchProcessor(new String[] {"a", "b", "c"},
        new LimitAlgorithm[] {limit, limit, limit}, new long[] {1, -1, 2}, new Decision[3]);
    BatchOutcome out = run(entry, p);
    assertNull(out.error(0));
    assertTrue(out.error(1).contains("permits"), out.error(1));
    assertNull(out.error(2));
    assertTrue(out.decision(2).allowed());
    Map.Entry<Integer, CounterBucket> backup = new SimpleEntry<>(3, null);
    p.getBackupProcessor().process(backup);
    long now = TimeUnit.NANOSECONDS.toMillis(clock.epochNanos());
    assertEquals(entry.getValue().live("a", now), backup.getValue().live("a", now));
    assertEquals(entry.getValue().live("c", now), backup.getValue().live("c", now));
    assertNull(backup.getValue().live("b", now));
  }

  @Test
  void refundsGiveBackAndExpiredStatesReadAsAbsent() {
    Map.Entry<Integer, CounterBucket> entry = new SimpleEntry<>(3, null);
    Decision taken = run(entry, new BatchProcessor(new String[] {"a"},
        new LimitAlgorithm[] {limit}, new long[] {2}, new Decision[1])).decision(0);
    BatchOutcome back = run(entry, new BatchProcessor(new String[] {"a", "missing"},
        new LimitAlgorithm[] {limit, limit}, new long[2], new Decision[] {taken, taken}));
    assertTrue(back.refunded(0));
    assertFalse(back.refunded(1), "nothing to give back");
    CounterBucket bucket = entry.getValue();
    clock.advance(3, TimeUnit.MINUTES);
    BatchOutcome later = run(entry, new BatchProcessor(new String[] {"a"},
        new LimitAlgorithm[] {limit}, new long[] {0}, new Decision[1]));
    assertEquals(2, later.decision(0).remaining());
    assertSame(bucket, entry.getValue());
    assertEquals(0, bucket.sweep(TimeUnit.NANOSECONDS.toMillis(clock.epochNanos())));
  }

  @Test
  void anAcquirePastItsDeadlineIsDroppedNotAppliedAndRefundsStillRun() {
    Map.Entry<Integer, CounterBucket> entry = new SimpleEntry<>(3, null);
    Decision taken = run(entry, new BatchProcessor(new String[] {"a"},
        new LimitAlgorithm[] {limit}, new long[] {1}, new Decision[1])).decision(0);
    long now = clock.epochNanos();
    BatchOutcome out = run(entry, new BatchProcessor(new String[] {"a", "a", "b"},
        new LimitAlgorithm[] {limit, limit, limit}, new long[] {1, 0, 1},
        new Decision[] {null, taken, null}, new long[] {now, now - 1, now + 1}));
    assertTrue(out.expired(0), "deadline reached: dropped");
    assertNull(out.decision(0));
    assertFalse(out.expired(1), "a refund has no deadline");
    assertTrue(out.refunded(1));
    assertFalse(out.expired(2));
    assertTrue(out.decision(2).allowed());
    assertEquals(2, run(entry, new BatchProcessor(new String[] {"a"},
        new LimitAlgorithm[] {limit}, new long[] {0}, new Decision[1])).decision(0).remaining(),
        "the dropped acquire took nothing, the refund gave its unit back");
  }
}
