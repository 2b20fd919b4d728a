package io.tollgate.loadtest;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Prints N distinct loopback ports that are free now, from 20000-31999: below Linux's ephemeral
 * range (32768-60999), so outgoing connections cannot take them before the servers bind.
 */
@Command(name = "free-ports", description = "Print N free loopback ports (20000-31999), one per line.")
final class FreePortsCommand implements Callable<Integer> {

  @Parameters(index = "0", description = "how many")
  int count;

  @Override
  public Integer call() throws IOException {
    List<ServerSocket> held = new ArrayList<>();
    try {
      InetAddress loopback = InetAddress.getByName("127.0.0.1");
      for (int attempts = 0; held.size() < count && attempts < 10_000; attempts++) {
        int port = ThreadLocalRandom.current().nextInt(20000, 32000);
        try {
          ServerSocket s = new ServerSocket(port, 1, loopback);
          held.add(s);
        } catch (IOException taken) {
          // try another
        }
      }
      if (held.size() < count) {
        System.err.println("found only " + held.size() + " free ports");
        return 1;
      }
      for (ServerSocket s : held) {
        System.out.println(s.getLocalPort());
      }
      return 0;
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
  }
}
