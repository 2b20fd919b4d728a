package io.tollgate.limiter.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.tollgate.limiter.cluster.GridMember;
import io.tollgate.limiter.testing.Awaits;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.FreePorts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two members: a {@code Serializable} of a class outside our packages, Hazelcast's and the JDK's
 * (here a Guava list, from a library on the class path) is refused when a member deserializes it;
 * JDK types still pass.
 */
class JavaSerializationFilterTest {

  private final List<HazelcastInstance> members = new ArrayList<>();

  @BeforeEach
  void start() {
    String name = "filter-" + UUID.randomUUID();
    List<String> addresses = List.of("127.0.0.1:" + FreePorts.next(),
        "127.0.0.1:" + FreePorts.next());
    for (String a : addresses) {
      int port = Integer.parseInt(a.substring(a.indexOf(':') + 1));
      members.add(GridMember.start(GridMember.config(name, "127.0.0.1", port, addresses,
          new FakeClock())));
    }
    Awaits.await("two members", Duration.ofSeconds(30),
        () -> members.get(1).getCluster().getMembers().size() == 2);
  }

  @AfterEach
  void stop() {
    members.forEach(m -> m.getLifecycleService().terminate());
  }

  @Test
  void aClassOutsideTheAllowedPackagesIsRefusedWhenReadFromTheGrid() {
    IMap<String, Object> sent = members.get(0).getMap("filter-test");
    IMap<String, Object> read = members.get(1).getMap("filter-test");
    for (int i = 0; i < 10; i++) {
      sent.put("gadget-" + i, ImmutableList.of("x"));
    }
    for (int i = 0; i < 10; i++) {
      String key = "gadget-" + i;
      RuntimeException e = assertThrows(RuntimeException.class, () -> read.get(key));
      assertTrue(refusedByFilter(e), "not refused by the filter: " + e);
    }
    ArrayList<String> plain = new ArrayList<>(List.of("a", "b"));
    sent.put("jdk", plain);
    assertEquals(plain, read.get("jdk"));
  }

  private static boolean refusedByFilter(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SecurityException
          && String.valueOf(t.getMessage()).contains("not allowed")) {
        return true;
      }
    }
    return false;
  }
}
