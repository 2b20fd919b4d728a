package io.tollgate.loadtest.target;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** One plaintext channel per address of a comma-separated list; calls go round-robin. */
final class GrpcChannels implements AutoCloseable {

  private final List<ManagedChannel> channels = new ArrayList<>();
  private final AtomicInteger next = new AtomicInteger();

  GrpcChannels(String addresses) {
    for (String a : addresses.split(",")) {
      String address = a.trim();
      if (address.isEmpty()) {
        continue;
      }
      int colon = address.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--address: '" + address + "' is not host:port");
      }
      channels.add(NettyChannelBuilder.forAddress(address.substring(0, colon),
          Integer.parseInt(address.substring(colon + 1))).usePlaintext().build());
    }
    if (channels.isEmpty()) {
      throw new IllegalArgumentException("--address: no address given");
    }
  }

  /** The channel for the next call. */
  ManagedChannel next() {
    return channels.get(Math.floorMod(next.getAndIncrement(), channels.size()));
  }

  @Override
  public void close() {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    for (ManagedChannel c : channels) {
      try {
        c.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
