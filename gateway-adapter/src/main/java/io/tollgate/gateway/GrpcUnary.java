package io.tollgate.gateway;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * A unary gRPC call as HTTP/2 messages, for a client that sends them itself (the gRPC over
 * HTTP/2 protocol, "PROTOCOL-HTTP2.md" of grpc/grpc): a POST to {@code /service/method} with
 * {@code content-type: application/grpc}, {@code te: trailers} and the deadline as {@code
 * grpc-timeout}, whose body is one length-prefixed message (a compressed flag byte, four bytes of
 * length, the protobuf bytes). The answer is one such message and a {@code grpc-status} trailer,
 * or, when the call failed before any message, {@code grpc-status} in the headers alone.
 *
 * <p>Only what the limiter's one method needs: no compression (none is offered, so a server
 * never compresses), no metadata, one message each way. {@link LimiterChannel} sends the frames.
 */
final class GrpcUnary {

  /** The prefix of every message: one flag byte (0: not compressed) and a 32-bit length. */
  private static final int HEADER_BYTES = 5;
  /** grpc-timeout carries at most eight digits. */
  private static final long MAX_TIMEOUT_MILLIS = 99_999_999;

  private GrpcUnary() {}

  /** A deadline as {@code grpc-timeout}: milliseconds, at least 1, at most eight digits. */
  static String timeout(long timeoutMillis) {
    return Math.min(Math.max(timeoutMillis, 1), MAX_TIMEOUT_MILLIS) + "m";
  }

  /** {@code message} as the body of a call: its length prefix, then its bytes. */
  static byte[] frame(MessageLite message) {
    int size = message.getSerializedSize();
    byte[] out = new byte[HEADER_BYTES + size];
    out[1] = (byte) (size >>> 24);
    out[2] = (byte) (size >>> 16);
    out[3] = (byte) (size >>> 8);
    out[4] = (byte) size;
    try {
      CodedOutputStream cos = CodedOutputStream.newInstance(out, HEADER_BYTES, size);
      message.writeTo(cos);
      cos.checkNoSpaceLeft();
    } catch (IOException e) {
      // Writing into an array of the exact size cannot fail.
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** A call's outcome: the answer (status OK), or the status the call failed with. */
  record Result<T>(T message, Status status) {}

  /**
   * Reads the answer of a unary call: its HTTP status, its {@code grpc-status} and {@code
   * grpc-message} (from the trailers, or from the headers of an answer without a message; null
   * when absent) and the first {@code n} bytes of its body.
   */
  static <T> Result<T> parse(int http, CharSequence grpcStatus, CharSequence grpcMessage,
      byte[] bytes, int n, Parser<T> parser) {
    if (http != 200) {
      // A reply that is not gRPC (a proxy's error page): the spec's mapping of HTTP statuses.
      return failed(httpStatus(http).withDescription("HTTP status " + http));
    }
    if (grpcStatus == null) {
      return failed(Status.INTERNAL.withDescription("no grpc-status in the answer"));
    }
    String code = grpcStatus.toString();
    String description = grpcMessage == null ? null : grpcMessage.toString();
    if (!code.equals("0")) {
      Status s;
      try {
        s = Status.fromCodeValue(Integer.parseInt(code));
      } catch (NumberFormatException e) {
        s = Status.UNKNOWN.withDescription("grpc-status " + code);
        return failed(s);
      }
      return failed(description == null ? s : s.withDescription(decode(description)));
    }
    if (bytes == null || n < HEADER_BYTES) {
      return failed(Status.INTERNAL.withDescription("no message in a unary answer"));
    }
    if (bytes[0] != 0) {
      return failed(Status.INTERNAL.withDescription("a compressed answer, none was offered"));
    }
    int size = ((bytes[1] & 0xff) << 24) | ((bytes[2] & 0xff) << 16) | ((bytes[3] & 0xff) << 8)
        | (bytes[4] & 0xff);
    if (size < 0 || size != n - HEADER_BYTES) {
      return failed(Status.INTERNAL.withDescription("a unary answer of " + (n - HEADER_BYTES)
          + " bytes announced " + Integer.toUnsignedString(size)));
    }
    try {
      return new Result<>(parser.parseFrom(bytes, HEADER_BYTES, size), Status.OK);
    } catch (InvalidProtocolBufferException e) {
      return failed(Status.INTERNAL.withDescription("cannot parse the answer: "
          + e.getMessage()));
    }
  }

  private static <T> Result<T> failed(Status status) {
    return new Result<>(null, status);
  }

  /** The gRPC status of an HTTP status that is not 200 (the spec's table). */
  static Status httpStatus(int http) {
    return switch (http) {
      case 400 -> Status.INTERNAL;
      case 401 -> Status.UNAUTHENTICATED;
      case 403 -> Status.PERMISSION_DENIED;
      case 404 -> Status.UNIMPLEMENTED;
      case 429, 502, 503, 504 -> Status.UNAVAILABLE;
      default -> Status.UNKNOWN;
    };
  }

  /** grpc-message is percent-encoded UTF-8. */
  private static String decode(String message) {
    if (message.indexOf('%') < 0) {
      return message;
    }
    try {
      return URLDecoder.decode(message.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return message;
    }
  }
}
