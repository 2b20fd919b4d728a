package io.tollgate.limiter.http;

import static io.tollgate.limiter.testing.Requests.descriptor;
import static io.tollgate.limiter.testing.Requests.request;
import static io.tollgate.limiter.testing.Requests.withHits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.tollgate.limiter.testing.FakeClock;
import io.tollgate.limiter.testing.InJvmLimiter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Invalid UTF-8 anywhere in a request is refused and counts nothing: {@code a\xffb} and
 * {@code a\xfeb} must not be folded into the counter of {@code a\uFFFDb} (the replacement
 * character), which the test checks after every case.
 */
class InvalidUtf8Test {

  private static final String TOKEN = "0123456789abcdef-token";
  private static InJvmLimiter limiter;

  @BeforeAll
  static void start() throws Exception {
    limiter = InJvmLimiter.start(Path.of(InvalidUtf8Test.class.getResource(
        "/service/rules.yaml").toURI()), new FakeClock(), "--admin-token", TOKEN);
  }

  @AfterAll
  static void stop() throws Exception {
    if (limiter != null) {
      limiter.close();
    }
  }

  @AfterEach
  void nothingCountedAgainstTheReplacementCharacter() {
    var status = limiter.client.call(request("test",
        withHits(descriptor("five", "a\uFFFDb"), 0))).getStatuses(0);
    assertEquals(Code.OK, status.getCode());
    assertEquals(5, status.getLimitRemaining(), "a refused request was counted");
  }

  /** Bytes of {@code text} with every {@code ~} replaced by {@code bad}. */
  private static byte[] with(String text, int bad) {
    byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
    for (int i = 0; i < b.length; i++) {
      if (b[i] == '~') {
        b[i] = (byte) bad;
      }
    }
    return b;
  }

  private static String raw(byte[] request) throws IOException {
    return HttpBoundsTest.exchange(limiter.httpPort(),
        new String(request, StandardCharsets.ISO_8859_1), 10_000);
  }

  private static String post(String path, String body, int bad) throws IOException {
    byte[] b = with(body, bad);
    byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + "Authorization: Bearer " + TOKEN + "\r\nContent-Length: " + b.length + "\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(head);
    out.writeBytes(b);
    return raw(out.toByteArray());
  }

  @Test
  void jsonValueOrDomain() throws Exception {
    for (int bad : new int[] {0xff, 0xfe, 0xc0, 0x80}) {
      String value = post("/json", "{\"domain\":\"test\",\"descriptors\":[{\"entries\":"
          + "[{\"key\":\"five\",\"value\":\"a~b\"}]}]}", bad);
      assertTrue(value.startsWith("HTTP/1.1 400"), value);
      assertTrue(value.contains("not valid UTF-8"), value);
      String domain = post("/json", "{\"domain\":\"te~st\",\"descriptors\":[{\"entries\":"
          + "[{\"key\":\"five\",\"value\":\"x\"}]}]}", bad);
      assertTrue(domain.startsWith("HTTP/1.1 400"), domain);
    }
  }

  @Test
  void jsonEscapedLoneSurrogate() throws Exception {
    // Valid UTF-8 bytes, but the escape names half a character: no UTF-8 form exists.
    String answer = post("/json", "{\"domain\":\"test\",\"descriptors\":[{\"entries\":"
        + "[{\"key\":\"five\",\"value\":\"a\\udcffb\"}]}]}", '~');
    assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    assertTrue(answer.contains("descriptors[0].entries[0].value is not valid UTF-8"), answer);
  }

  @Test
  void checkHeaderValue() throws Exception {
    for (int bad : new int[] {0xff, 0xfe}) {
      String answer = raw(with("GET /check?domain=test&descriptor=five:header.X-User "
          + "HTTP/1.1\r\nHost: x\r\nX-User: a~b\r\nConnection: close\r\n\r\n", bad));
      assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
      assertTrue(answer.contains("header X-User is not valid UTF-8"), answer);
    }
  }

  @Test
  void checkQueryString() throws Exception {
    String answer = raw(with("GET /check?domain=test&descriptor=five:=a%FFb HTTP/1.1\r\n"
        + "Host: x\r\nConnection: close\r\n\r\n", '~'));
    assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    assertTrue(answer.contains("not valid UTF-8"), answer);
  }

  @Test
  void v1CheckAndAdminBodies() throws Exception {
    String check = post("/v1/check", "{\"apiKey\":\"a~b\",\"stage\":\"prod\"}", 0xff);
    assertTrue(check.startsWith("HTTP/1.1 400"), check);
    assertTrue(check.contains("not valid UTF-8"), check);
    String admin = post("/admin/plans", "{\"id\":\"p~1\",\"name\":\"x\"}", 0xff);
    assertTrue(admin.startsWith("HTTP/1.1 400"), admin);
    assertTrue(admin.contains("not valid UTF-8"), admin);
  }

  private static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  @Test
  void grpcStrings() throws Exception {
    MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(RateLimitServiceGrpc.getShouldRateLimitMethod().getFullMethodName())
        .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", limiter.grpcPort())
        .usePlaintext().build();
    try {
      for (int bad : new int[] {0xff, 0xfe}) {
        byte[] body = with(new String(request("test", descriptor("five", "a~b")).toByteArray(),
            StandardCharsets.ISO_8859_1), bad);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, method,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), body));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.toString());
      }
      // A lone surrogate cannot even be encoded by protobuf on the client side; an escaped one
      // reaches gRPC only through JSON (covered above).
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
