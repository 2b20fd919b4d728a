package io.tollgate.limiter.api;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;

/**
 * Answers a request message that does not parse with {@code INVALID_ARGUMENT} and the reason,
 * where grpc-java would answer {@code UNKNOWN} ("Application error processing RPC"). The common
 * case is invalid UTF-8 in a string field: proto3 refuses it while parsing, and it must be told
 * apart from a server fault, as the HTTP port's 400 is.
 *
 * <p>Implementation notes. Parsing happens inside grpc-java before any interceptor or handler
 * sees the message, and an exception there closes the call as {@code UNKNOWN}. So each method's
 * request marshaller is wrapped to return the failure as a value ({@link Parsed}) instead of
 * throwing, and the handler is wrapped to close the call with the status when it receives one.
 */
public final class StrictParsing {

  private StrictParsing() {}

  /** A parsed message, or why it did not parse. */
  private record Parsed<T>(T value, Status failure) {}

  /** The same service, with every method's request parsing failures answered as above. */
  public static ServerServiceDefinition wrap(ServerServiceDefinition service) {
    ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(
        service.getServiceDescriptor().getName());
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      b.addMethod(wrap(m));
    }
    return b.build();
  }

  private static <Q, R> ServerMethodDefinition<Parsed<Q>, R> wrap(ServerMethodDefinition<Q, R> m) {
    MethodDescriptor<Q, R> original = m.getMethodDescriptor();
    MethodDescriptor.Marshaller<Q> requests = original.getRequestMarshaller();
    MethodDescriptor<Parsed<Q>, R> strict = original.toBuilder(
        new MethodDescriptor.Marshaller<Parsed<Q>>() {
          @Override
          public InputStream stream(Parsed<Q> value) {
            return requests.stream(value.value());
          }

          @Override
          public Parsed<Q> parse(InputStream stream) {
            try {
              return new Parsed<>(requests.parse(stream), null);
            } catch (StatusRuntimeException e) {
              Throwable cause = e.getCause() != null ? e.getCause() : e;
              return new Parsed<>(null, Status.INVALID_ARGUMENT.withDescription(
                  "request is not a valid " + original.getFullMethodName() + " message: "
                      + cause.getMessage()));
            }
          }
        }, original.getResponseMarshaller()).build();
    ServerCallHandler<Q, R> handler = m.getServerCallHandler();
    ServerCallHandler<Parsed<Q>, R> strictHandler = (call, headers) -> {
      Unwrapped<Q, R> unwrapped = new Unwrapped<>(call, original);
      ServerCall.Listener<Q> listener = handler.startCall(unwrapped, headers);
      return new ServerCall.Listener<Parsed<Q>>() {
        @Override
        public void onMessage(Parsed<Q> message) {
          if (message.failure() != null) {
            unwrapped.closeOnce(message.failure());
          } else if (!unwrapped.closed) {
            listener.onMessage(message.value());
          }
        }

        @Override
        public void onHalfClose() {
          if (!unwrapped.closed) {
            listener.onHalfClose();
          }
        }

        @Override
        public void onCancel() {
          listener.onCancel();
        }

        @Override
        public void onComplete() {
          listener.onComplete();
        }

        @Override
        public void onReady() {
          listener.onReady();
        }
      };
    };
    return ServerMethodDefinition.create(strict, strictHandler);
  }

  /** The call as the service sees it: plain request messages. */
  private static final class Unwrapped<Q, R> extends ServerCall<Q, R> {
    private final ServerCall<Parsed<Q>, R> call;
    private final MethodDescriptor<Q, R> method;
    volatile boolean closed;

    Unwrapped(ServerCall<Parsed<Q>, R> call, MethodDescriptor<Q, R> method) {
      this.call = call;
      this.method = method;
    }

    synchronized void closeOnce(Status status) {
      if (!closed) {
        closed = true;
        call.close(status, new Metadata());
      }
    }

    @Override
    public void request(int numMessages) {
      call.request(numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      call.sendHeaders(headers);
    }

    @Override
    public void sendMessage(R message) {
      if (!closed) {
        call.sendMessage(message);
      }
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        call.close(status, trailers);
      }
    }

    @Override
    public boolean isCancelled() {
      return call.isCancelled();
    }

    @Override
    public boolean isReady() {
      return call.isReady();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      call.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      call.setCompression(compressor);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      call.setOnReadyThreshold(numBytes);
    }

    @Override
    public Attributes getAttributes() {
      return call.getAttributes();
    }

    @Override
    public String getAuthority() {
      return call.getAuthority();
    }

    @Override
    public MethodDescriptor<Q, R> getMethodDescriptor() {
      return method;
    }
  }
}
