package io.tollgate.limiter.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for servers that cannot bind port 0 and report it back.
 *
 * <p>Ports come from 20000-32767, below Linux's default ephemeral range (32768-60999): a port
 * the kernel hands out for outgoing connections (a database client, a grid member dialling
 * another) could otherwise be taken between this check and the server's bind. A port is handed
 * out at most once per test JVM.
 */
public final class FreePorts {

  private static final int LOW = 20_000;
  private static final int HIGH = 32_768;
  private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

  private FreePorts() {}

  /** A port that was free on 127.0.0.1 a moment ago and was not handed out before. */
  public static int next() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 1_000; attempt++) {
      int port = random.nextInt(LOW, HIGH);
      if (!GIVEN.add(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IllegalStateException("no free port in " + LOW + "-" + (HIGH - 1));
  }
}
