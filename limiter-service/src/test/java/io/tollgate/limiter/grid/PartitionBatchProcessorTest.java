package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.internal.serialization.InternalSerializationService;
import com.hazelcast.internal.serialization.impl.DefaultSerializationServiceBuilder;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.WallClock;
import io.tollgate.limiter.testing.FakeClock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A batch on one partition, run directly on entries as the owner's partition thread would run
 * it (Hazelcast hands the processor each distinct key once), and its backup on other entries.
 */
class PartitionBatchProcessorTest {

  private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);
  private static final byte ACQUIRE = PartitionBatchProcessor.ACQUIRE;
  private static final byte REFUND = PartitionBatchProcessor.REFUND;
  private static final byte RESET = PartitionBatchProcessor.RESET;
  private final FakeClock clock = new FakeClock();
  private final LimitAlgorithm limit = new FixedWindow(2, MINUTE);

  /** A map entry as the owner offers it: a value and, once written, its TTL. */
  private static final class Slot implements ExtendedMapEntry<String, LimitState> {
    final String key;
    LimitState value;
    long ttlMillis = -1;
    int writes;

    Slot(String key, LimitState value) {
      this.key = key;
      this.value = value;
    }

    @Override
    public String getKey() {
      return key;
    }

    @Override
    public LimitState getValue() {
      return value;
    }

    @Override
    public LimitState setValue(LimitState v) {
      LimitState old = value;
      value = v;
      ttlMillis = -1;
      writes++;
      return old;
    }

    @Override
    public LimitState setValue(LimitState v, long ttl, TimeUnit unit) {
      LimitState old = value;
      value = v;
      ttlMillis = unit.toMillis(ttl);
      writes++;
      return old;
    }

    @Override
    public LimitState setValueWithoutChangingExpiryTime(LimitState v) {
      return setValue(v);
    }
  }

  /** One call of a batch under construction. */
  private record Call(String key, byte kind, long permits, Decision refund, long deadline) {}

  /** Builds a processor from calls grouped by key in first-seen order, as the store does. */
  private PartitionBatchProcessor batch(List<Call> calls) {
    Map<String, List<Call>> byKey = new java.util.LinkedHashMap<>();
    for (Call c : calls) {
      byKey.computeIfAbsent(c.key(), k -> new ArrayList<>()).add(c);
    }
    int n = calls.size();
    String[] keys = byKey.keySet().toArray(new String[0]);
    int[] first = new int[keys.length + 1];
    byte[] kinds = new byte[n];
    LimitAlgorithm[] algorithms = new LimitAlgorithm[n];
    long[] permits = new long[n];
    Decision[] refunds = new Decision[n];
    long[] deadlines = new long[n];
    int i = 0;
    for (int k = 0; k < keys.length; k++) {
      first[k] = i;
      for (Call c : byKey.get(keys[k])) {
        kinds[i] = c.kind();
        algorithms[i] = c.kind() == RESET ? null : limit;
        permits[i] = c.permits();
        refunds[i] = c.refund();
        deadlines[i] = c.deadline();
        i++;
      }
    }
    first[keys.length] = n;
    PartitionBatchProcessor p = new PartitionBatchProcessor(keys, first, kinds, algorithms,
        permits, refunds, deadlines);
    p.setClock(clock);
    return p;
  }

  private static Call acquire(String key, long permits) {
    return new Call(key, ACQUIRE, permits, null, Long.MAX_VALUE);
  }

  /** Runs {@code p} on every entry of {@code entries}, as the operation does. */
  private static Map<String, BatchOutcome> run(PartitionBatchProcessor p,
      Map<String, Slot> entries) {
    Map<String, BatchOutcome> out = new HashMap<>();
    for (Slot s : entries.values()) {
      out.put(s.key, p.process(s));
    }
    return out;
  }

  private static Map<String, Slot> entries(String... keys) {
    Map<String, Slot> m = new java.util.LinkedHashMap<>();
    for (String k : keys) {
      m.put(k, new Slot(k, null));
    }
    return m;
  }

  @Test
  void eachKeysCallsRunInOrderAndTheEntryIsWrittenOnceWithATtl() {
    Map<String, Slot> entries = entries("a", "b");
    Map<String, BatchOutcome> out = run(batch(List.of(acquire("a", 1), acquire("b", 0),
        acquire("a", 1), acquire("a", 1))), entries);
    BatchOutcome a = out.get("a");
    assertEquals(3, a.size());
    assertTrue(a.decision(0).allowed());
    assertTrue(a.decision(1).allowed());
    assertFalse(a.decision(2).allowed(), "the third unit of a limit of 2");
    assertEquals(2, out.get("b").decision(0).remaining(), "a report-only call");
    assertEquals(1, entries.get("a").writes, "one write for the key's three calls");
    assertTrue(entries.get("a").ttlMillis > 1_000 && entries.get("a").ttlMillis <= 61_000,
        "TTL " + entries.get("a").ttlMillis);
    assertEquals(0, entries.get("b").writes, "report-only calls store nothing");
  }

  @Test
  void theBackupGetsTheFinalStatesNotTheCalls() {
    Map<String, Slot> owner = entries("a", "b", "c");
    PartitionBatchProcessor p = batch(List.of(acquire("a", 1), acquire("b", -1),
        acquire("c", 2), acquire("a", 1)));
    Map<String, BatchOutcome> out = run(p, owner);
    assertTrue(out.get("b").error(0).contains("permits"), out.get("b").error(0));
    EntryProcessor<String, LimitState, BatchOutcome> backup = p.getBackupProcessor();
    Map<String, Slot> replica = entries("a", "b", "c");
    // The backup runs later, under another clock: it must not re-run the math.
    clock.advance(10, TimeUnit.MINUTES);
    for (Slot s : replica.values()) {
      backup.process(s);
    }
    assertEquals(owner.get("a").value, replica.get("a").value);
    assertEquals(owner.get("a").ttlMillis, replica.get("a").ttlMillis);
    assertEquals(owner.get("c").value, replica.get("c").value);
    assertNull(replica.get("b").value, "a call that failed stores nothing");
    assertEquals(0, replica.get("b").writes);
  }

  @Test
  void nothingChangedMeansNoBackup() {
    Map<String, Slot> entries = entries("a");
    PartitionBatchProcessor p = batch(List.of(acquire("a", 0), acquire("a", 3)));
    run(p, entries);
    assertNull(p.getBackupProcessor(), "a report-only call and a denial change nothing");
  }

  @Test
  void refundsAndResetsApplyInOrderAndReachTheBackup() {
    Map<String, Slot> entries = entries("a");
    Decision taken = run(batch(List.of(acquire("a", 2))), entries).get("a").decision(0);
    PartitionBatchProcessor p = batch(List.of(new Call("a", REFUND, 0, taken, Long.MAX_VALUE),
        acquire("a", 1), new Call("a", RESET, 0, null, Long.MAX_VALUE),
        new Call("a", RESET, 0, null, Long.MAX_VALUE)));
    BatchOutcome out = run(p, entries).get("a");
    assertTrue(out.refunded(0), "the refund gave two units back");
    assertEquals(1, out.decision(1).remaining());
    assertTrue(out.refunded(2), "the reset removed a state");
    assertFalse(out.refunded(3), "nothing left to remove");
    assertNull(entries.get("a").value);
    Slot replica = new Slot("a", new LimitState(1, 1, null));
    p.getBackupProcessor().process(replica);
    assertNull(replica.value, "the backup removed the key too");
  }

  @Test
  void anAcquirePastItsDeadlineIsDroppedNotAppliedAndRefundsStillRun() {
    Map<String, Slot> entries = entries("a", "b");
    Decision taken = run(batch(List.of(acquire("a", 1))), entries).get("a").decision(0);
    long now = clock.epochNanos();
    Map<String, BatchOutcome> out = run(batch(List.of(new Call("a", ACQUIRE, 1, null, now),
        new Call("a", REFUND, 0, taken, Long.MAX_VALUE),
        new Call("b", ACQUIRE, 1, null, now + 1))), entries);
    assertTrue(out.get("a").expired(0), "deadline reached: dropped");
    assertNull(out.get("a").decision(0));
    assertFalse(out.get("a").expired(1), "a refund has no deadline");
    assertTrue(out.get("a").refunded(1));
    assertTrue(out.get("b").decision(0).allowed());
    assertEquals(2, run(batch(List.of(acquire("a", 0))), entries).get("a").decision(0)
        .remaining(), "the dropped acquire took nothing, the refund gave its unit back");
  }

  @Test
  void theClockIsReadOncePerBatch() {
    long[] reads = {0};
    WallClock counting = () -> {
      reads[0]++;
      return clock.epochNanos();
    };
    PartitionBatchProcessor p = batch(List.of(acquire("a", 1), acquire("b", 1),
        acquire("c", 1)));
    p.setClock(counting);
    run(p, entries("a", "b", "c"));
    assertEquals(1, reads[0]);
  }

  @Test
  void survivesTheWireWithEveryKindOfCall() {
    InternalSerializationService ss = new DefaultSerializationServiceBuilder()
        .setConfig(serializationConfig()).build();
    Decision taken = new Decision(true, 1, 2, 1, MINUTE, 0);
    PartitionBatchProcessor sent = batch(List.of(acquire("a", 1),
        new Call("b", REFUND, 0, taken, Long.MAX_VALUE), acquire("a", 1),
        new Call("c", RESET, 0, null, Long.MAX_VALUE)));
    PartitionBatchProcessor received = ss.toObject(ss.toData(sent));
    received.setClock(clock);
    Map<String, Slot> viaWire = entries("a", "b", "c");
    Map<String, Slot> direct = entries("a", "b", "c");
    Map<String, BatchOutcome> a = run(received, viaWire);
    Map<String, BatchOutcome> b = run(sent, direct);
    assertEquals(3, received.keyCount());
    for (String k : List.of("a", "b", "c")) {
      assertEquals(b.get(k).size(), a.get(k).size(), k);
      assertEquals(direct.get(k).value, viaWire.get(k).value, k);
    }
    PartitionBackupProcessor backup = ss.toObject(ss.toData(received.getBackupProcessor()));
    Slot replica = new Slot("a", null);
    backup.process(replica);
    assertEquals(viaWire.get("a").value, replica.value);
  }

  private static com.hazelcast.config.SerializationConfig serializationConfig() {
    Config config = new Config();
    GridConfig.configure(config, WallClock.SYSTEM);
    return config.getSerializationConfig();
  }
}
