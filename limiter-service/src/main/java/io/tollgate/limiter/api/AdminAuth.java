package io.tollgate.limiter.api;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The admin bearer token: {@code Authorization: Bearer <token>} on HTTP, the
 * {@code authorization} metadata on gRPC. Without a configured token the admin API is closed:
 * every call is refused.
 */
public final class AdminAuth implements ServerInterceptor {

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final byte[] token;

  /** @param token the token; {@code null} or empty closes the admin API */
  public AdminAuth(String token) {
    this.token = token == null || token.isEmpty() ? null : token.getBytes(StandardCharsets.UTF_8);
  }

  /** Whether an admin token is configured. */
  public boolean enabled() {
    return token != null;
  }

  /**
   * Why an {@code Authorization} header value is refused, or {@code null} when it is accepted.
   */
  public String refusal(String authorization) {
    if (token == null) {
      return "the admin API is disabled: no admin token is configured (--admin-token, "
          + "--admin-token-file or RL_ADMIN_TOKEN)";
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return "missing bearer token (Authorization: Bearer <token>)";
    }
    byte[] given = authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8);
    // Constant time: the comparison does not tell how much of a guess was right.
    return MessageDigest.isEqual(given, token) ? null : "wrong bearer token";
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String why = refusal(headers.get(AUTHORIZATION));
    if (why != null) {
      call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
