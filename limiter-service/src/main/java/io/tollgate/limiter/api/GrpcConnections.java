package io.tollgate.limiter.api;

import io.grpc.Attributes;
import io.grpc.ServerTransportFilter;
import java.util.concurrent.atomic.AtomicLong;

/** Counts the gRPC port's connections: open now, and accepted since start (for metrics). */
public final class GrpcConnections extends ServerTransportFilter {

  private final AtomicLong open = new AtomicLong();
  private final AtomicLong opened = new AtomicLong();

  @Override
  public Attributes transportReady(Attributes attributes) {
    open.incrementAndGet();
    opened.incrementAndGet();
    return attributes;
  }

  @Override
  public void transportTerminated(Attributes attributes) {
    open.decrementAndGet();
  }

  /** Connections open now. */
  public long openConnections() {
    return open.get();
  }

  /** Connections accepted since start. */
  public long openedConnections() {
    return opened.get();
  }
}
