package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.internal.serialization.Data;
import com.hazelcast.internal.serialization.InternalSerializationService;
import com.hazelcast.internal.serialization.impl.DefaultSerializationServiceBuilder;
import com.hazelcast.internal.nio.BufferObjectDataOutput;
import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.FixedWindow;
import io.tollgate.limiter.algorithm.LimitAlgorithm;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.algorithm.SlidingWindow;
import io.tollgate.limiter.algorithm.TokenBucket;
import io.tollgate.limiter.testing.FakeClock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The wire formats of algorithms, processors and results, without a member. */
class GridSerializationTest {

  private static final long SECOND = 1_000_000_000L;
  private static final long MINUTE = 60 * SECOND;

  private final InternalSerializationService ss = serializationService();

  private static InternalSerializationService serializationService() {
    Config config = new Config();
    GridConfig.configure(config, new FakeClock());
    return new DefaultSerializationServiceBuilder()
        .setConfig(config.getSerializationConfig())
        .build();
  }

  @AfterEach
  void dispose() {
    ss.dispose();
  }

  private byte[] write(LimitAlgorithm algorithm) throws IOException {
    BufferObjectDataOutput out = ss.createObjectDataOutput();
    GridSerialization.writeAlgorithm(out, algorithm);
    return out.toByteArray();
  }

  private LimitAlgorithm read(byte[] bytes) throws IOException {
    return GridSerialization.readAlgorithm(ss.createObjectDataInput(bytes));
  }

  @Test
  void calendarQuotasRoundTrip() throws IOException {
    for (CalendarQuota q : List.of(
        new CalendarQuota(1_000, CalendarPeriod.DAY, 0, ZoneId.of("Europe/Berlin")),
        new CalendarQuota(0, CalendarPeriod.WEEK, 6, ZoneOffset.UTC),
        new CalendarQuota(5, CalendarPeriod.MONTH, 27, ZoneId.of("America/New_York")),
        new CalendarQuota(5, CalendarPeriod.MONTH, 3, ZoneOffset.ofHours(-3)),
        CalendarQuota.unlimited())) {
      byte[] bytes = write(q);
      assertEquals(LimitAlgorithm.Kind.CALENDAR_QUOTA.ordinal(), bytes[0]);
      LimitAlgorithm back = read(bytes);
      assertEquals(q, back);
      CalendarQuota c = assertInstanceOf(CalendarQuota.class, back);
      assertEquals(q.limit(), c.limit());
      assertEquals(q.period(), c.period());
      assertEquals(q.offset(), c.offset());
      assertEquals(q.zone(), c.zone());
      assertSame(back, read(bytes), "quotas read are interned, keeping their cached period");
    }
  }

  @Test
  void olderKindsKeepTheirLayout() throws IOException {
    byte[] fixed = write(new FixedWindow(5, MINUTE));
    assertArrayEquals(layout(0, 5, MINUTE, 5), fixed);
    byte[] bucket = write(new TokenBucket(7, SECOND, 20));
    assertArrayEquals(layout(1, 7, SECOND, 20), bucket);
    byte[] sliding = write(new SlidingWindow(9, MINUTE));
    assertArrayEquals(layout(2, 9, MINUTE, 9), sliding);

    TokenBucket tb = assertInstanceOf(TokenBucket.class, read(bucket));
    assertEquals(7, tb.rate());
    assertEquals(20, tb.limit());
    assertEquals(SECOND, tb.windowNanos());
    LimitAlgorithm fw = read(fixed);
    assertEquals(LimitAlgorithm.Kind.FIXED_WINDOW, fw.kind());
    assertEquals(5, fw.limit());
    assertEquals(LimitAlgorithm.Kind.SLIDING_WINDOW, read(sliding).kind());
  }

  /** The pre-quota layout: kind byte, then rate, window and limit as big-endian longs. */
  private static byte[] layout(int kind, long rate, long window, long limit) {
    return ByteBuffer.allocate(25).put((byte) kind).putLong(rate).putLong(window).putLong(limit)
        .array();
  }

  @Test
  void rejectsUnknownOrBadAlgorithms() throws IOException {
    assertThrows(IOException.class, () -> read(new byte[] {42}));
    assertThrows(IOException.class, () -> read(new byte[] {-1}));

    BufferObjectDataOutput badZone = ss.createObjectDataOutput();
    badZone.writeByte(LimitAlgorithm.Kind.CALENDAR_QUOTA.ordinal());
    badZone.writeByte(1);
    badZone.writeLong(5);
    badZone.writeString("DAY");
    badZone.writeInt(0);
    badZone.writeString("Mars/Olympus_Mons");
    assertThrows(IOException.class, () -> read(badZone.toByteArray()));

    BufferObjectDataOutput badOffset = ss.createObjectDataOutput();
    badOffset.writeByte(LimitAlgorithm.Kind.CALENDAR_QUOTA.ordinal());
    badOffset.writeByte(1);
    badOffset.writeLong(5);
    badOffset.writeString("WEEK");
    badOffset.writeInt(7);
    badOffset.writeString("UTC");
    assertThrows(IOException.class, () -> read(badOffset.toByteArray()));

    byte[] future = write(CalendarQuota.unlimited());
    future[1] = 2;
    IOException e = assertThrows(IOException.class, () -> read(future));
    assertEquals("unknown calendar quota format 2", e.getMessage());
  }

  @Test
  void processorsAndResultsRoundTrip() {
    CalendarQuota q = new CalendarQuota(10, CalendarPeriod.WEEK, 1, ZoneId.of("Europe/Berlin"));
    for (Object o : List.of(new AcquireProcessor(q, 3),
        QuotaAdjustProcessor.grant(q, 25),
        QuotaAdjustProcessor.reset(q),
        new QuotaReadProcessor(q),
        new RefundProcessor(q, new Decision(true, 3, 10, 7, SECOND, 1_800_000_000L)))) {
      Data data = ss.toData(o);
      Object back = ss.toObject(data);
      assertEquals(o.getClass(), back.getClass());
      assertEquals(data, ss.toData(back), o.getClass().getSimpleName());
    }
    QuotaSnapshot snapshot = new QuotaSnapshot(10, -15, 1_800_000_000L, 1_800_604_800L);
    assertEquals(snapshot, ss.toObject(ss.toData(snapshot)));
    assertThrows(IllegalArgumentException.class, () -> QuotaAdjustProcessor.grant(q, -1));
  }

  @Test
  void aQuotaProcessorRejectsAnotherAlgorithm() {
    BufferObjectDataOutput out = ss.createObjectDataOutput();
    try {
      GridSerialization.writeAlgorithm(out, new FixedWindow(5, MINUTE));
      IOException e = assertThrows(IOException.class,
          () -> QuotaReadProcessor.readQuota(ss.createObjectDataInput(out.toByteArray())));
      assertEquals("expected a calendar quota, got FIXED_WINDOW", e.getMessage());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void batchAnswersRoundTrip() {
    Decision d = new Decision(true, 1, 10, 9, MINUTE, 4);
    BatchOutcome outcome = ss.toObject(ss.toData(new BatchOutcome(
        new Decision[] {d, null, null, null}, new boolean[] {false, true, false, false},
        new String[] {null, null, "permits must be >= 0", null},
        new boolean[] {false, false, false, true})));
    assertEquals(d, outcome.decision(0));
    assertTrue(outcome.refunded(1));
    assertEquals("permits must be >= 0", outcome.error(2));
    assertTrue(outcome.expired(3));
  }
}
