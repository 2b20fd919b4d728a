package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.core.EntryView;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.tollgate.limiter.algorithm.CalendarPeriod;
import io.tollgate.limiter.algorithm.CalendarQuota;
import io.tollgate.limiter.algorithm.Decision;
import io.tollgate.limiter.algorithm.LimitState;
import io.tollgate.limiter.algorithm.QuotaSnapshot;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Calendar quotas on one embedded member with a fake clock: acquire and refund through the store,
 * grants, resets and reads by the quota processors, and the TTLs they set.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QuotaProcessorsTest {

  /** A map of limit states with Hazelcast's defaults (one synchronous backup). */
  private static final String MAP = "test-limit-states";

  private static final long SECOND = 1_000_000_000L;
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
  /** 2026-11-27T12:00:00.250Z; Berlin is UTC+1, so its day ends at 23:00 UTC. */
  private static final long NOON = FakeClock.DEFAULT_START;

  private final FakeClock clock = new FakeClock();
  private final CalendarQuota quota = new CalendarQuota(5, CalendarPeriod.DAY, 0, BERLIN);
  private HazelcastInstance member;
  private HazelcastLimitStore store;
  private IMap<String, LimitState> counters;

  @BeforeAll
  void start() {
    member = GridMember.start(GridMember.config("quota-test-" + UUID.randomUUID(), "127.0.0.1",
        FreePorts.next(), List.of(), clock));
    store = new HazelcastLimitStore(member, MAP);
    counters = member.getMap(MAP);
  }

  @AfterAll
  void stop() {
    member.getLifecycleService().terminate();
  }

  @BeforeEach
  void resetClock() {
    clock.set(NOON);
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static long sec(String instant) {
    return Instant.parse(instant).getEpochSecond();
  }

  private static long today() {
    return LocalDate.parse("2026-11-27").toEpochDay();
  }

  /** The TTL the map holds for {@code key}, and the one the quota asks for now. */
  private void assertTtlFollowsTheQuota(String key) {
    EntryView<String, LimitState> view = counters.getEntryView(key);
    long expected = AcquireProcessor.ttlMillis(quota.ttlNanos(view.getValue(), clock.epochNanos()));
    // The map keeps TTLs in whole seconds.
    assertEquals(TimeUnit.MILLISECONDS.toSeconds(expected),
        TimeUnit.MILLISECONDS.toSeconds(view.getTtl()), "ttl " + view.getTtl() + " ms");
  }

  @Test
  void acquiresAndRefundsThroughTheStore() throws Exception {
    String key = "acquire";
    long untilBerlinMidnight = (sec("2026-11-27T23:00:00Z") - sec("2026-11-27T12:00:00Z"))
        * SECOND - 250_000_000L;
    Decision last = null;
    for (int i = 0; i < 5; i++) {
      last = get(store.acquire(key, quota, 1));
      assertTrue(last.allowed());
    }
    Decision denied = get(store.acquire(key, quota, 1));
    assertFalse(denied.allowed());
    assertEquals(0, denied.remaining());
    assertEquals(untilBerlinMidnight, denied.resetAfterNanos());
    assertEquals(new QuotaSnapshot(5, 5, sec("2026-11-26T23:00:00Z"), sec("2026-11-27T23:00:00Z")),
        get(store.readQuota(key, quota)));
    assertTtlFollowsTheQuota(key);

    assertTrue(get(store.refund(key, quota, last)));
    assertEquals(4, get(store.readQuota(key, quota)).used());
    SortedMap<Long, Long> days = CalendarQuota.usageDays(counters.get(key));
    assertEquals(new TreeMap<>(java.util.Map.of(today(), 4L)), days);

    // Berlin's next day.
    clock.set(sec("2026-11-27T23:00:00Z") * SECOND);
    assertEquals(0, get(store.readQuota(key, quota)).used());
    assertTrue(get(store.acquire(key, quota, 5)).allowed());
  }

  @Test
  void aGrantLetsMoreThroughAndAResetStartsOver() throws Exception {
    String key = "grant";
    assertTrue(get(store.acquire(key, quota, 5)).allowed());
    QuotaSnapshot granted = get(store.grantQuota(key, quota, 10));
    assertEquals(new QuotaSnapshot(5, -5, sec("2026-11-26T23:00:00Z"),
        sec("2026-11-27T23:00:00Z")), granted);
    assertEquals(10, granted.remaining());
    assertEquals(granted, get(store.readQuota(key, quota)));
    assertTtlFollowsTheQuota(key);
    assertTrue(get(store.acquire(key, quota, 10)).allowed());
    assertFalse(get(store.acquire(key, quota, 1)).allowed());

    QuotaSnapshot reset = get(store.resetQuota(key, quota));
    assertEquals(0, reset.used());
    assertEquals(5, reset.remaining());
    assertEquals(reset, get(store.readQuota(key, quota)));
    assertTtlFollowsTheQuota(key);
    // Adjustments leave the usage days as they were: 5 + 10 units today.
    assertEquals(15L, CalendarQuota.usageDays(counters.get(key)).get(today()));

    assertEquals(0, get(store.grantQuota(key, quota, 0)).remaining());
    assertFalse(get(store.acquire(key, quota, 1)).allowed());
    assertThrows(IllegalArgumentException.class, () -> store.grantQuota(key, quota, -1));
  }

  @Test
  void aGrantBeforeTheFirstRequestHolds() throws Exception {
    String key = "fresh-grant";
    assertEquals(-2, get(store.grantQuota(key, quota, 7)).used());
    assertTtlFollowsTheQuota(key);
    for (int i = 0; i < 7; i++) {
      assertTrue(get(store.acquire(key, quota, 1)).allowed());
    }
    assertFalse(get(store.acquire(key, quota, 1)).allowed());
  }

  @Test
  void readingAnAbsentKeyCreatesNothing() throws Exception {
    QuotaSnapshot s = get(store.readQuota("absent", quota));
    assertEquals(new QuotaSnapshot(5, 0, sec("2026-11-26T23:00:00Z"), sec("2026-11-27T23:00:00Z")),
        s);
    assertEquals(5, s.remaining());
    assertFalse(counters.containsKey("absent"));
  }

  @Test
  void unlimitedCountsWithoutDenying() throws Exception {
    CalendarQuota unlimited = CalendarQuota.unlimited();
    for (int i = 0; i < 3; i++) {
      assertTrue(get(store.acquire("unlimited", unlimited, Long.MAX_VALUE)).allowed());
    }
    assertEquals(Long.MAX_VALUE, get(store.readQuota("unlimited", unlimited)).used());
    EntryView<String, LimitState> view = counters.getEntryView("unlimited");
    assertTrue(view.getTtl() > 0 && view.getTtl() < TimeUnit.DAYS.toMillis(65));
  }
}
