package io.tollgate.limiter.http;

import io.tollgate.limiter.service.InvalidRequestException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 for what the HTTP port reads: bodies, header values and percent-decoded query
 * parameters. A malformed sequence is a bad request; it is never replaced by U+FFFD, which would
 * fold {@code a\xffb} and {@code a\xfeb} into one counter.
 */
final class Utf8 {

  private Utf8() {}

  /**
   * Decodes {@code bytes}.
   *
   * @throws InvalidRequestException "{@code what} is not valid UTF-8"
   */
  static String decode(byte[] bytes, String what) {
    for (byte b : bytes) {
      if (b < 0) {
        try {
          return StandardCharsets.UTF_8.newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
          throw new InvalidRequestException(what + " is not valid UTF-8");
        }
      }
    }
    return new String(bytes, StandardCharsets.US_ASCII);
  }

  /**
   * A header value as text. The HTTP codec hands each header byte over as one char (ISO-8859-1);
   * the bytes are read again as UTF-8.
   *
   * @return {@code null} when {@code value} is
   */
  static String header(String value, String name) {
    if (value == null) {
      return null;
    }
    for (int i = 0; i < value.length(); i++) {
      if (value.charAt(i) >= 0x80) {
        return decode(value.getBytes(StandardCharsets.ISO_8859_1), "header " + name);
      }
    }
    return value;
  }

  /**
   * Percent-decodes a query parameter as {@code application/x-www-form-urlencoded} ({@code +} is
   * a space), then decodes the bytes as strict UTF-8.
   */
  static String percentDecoded(String raw, String where) {
    if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) {
      return decode(raw.getBytes(StandardCharsets.ISO_8859_1), where);
    }
    byte[] out = new byte[raw.length()];
    int n = 0;
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '+') {
        out[n++] = ' ';
      } else if (c == '%') {
        int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
        int lo = hi >= 0 ? Character.digit(raw.charAt(i + 2), 16) : -1;
        if (lo < 0) {
          throw new InvalidRequestException(where + ": bad percent-encoding in '" + raw + "'");
        }
        out[n++] = (byte) (hi << 4 | lo);
        i += 2;
      } else {
        out[n++] = (byte) c;
      }
    }
    return decode(java.util.Arrays.copyOf(out, n), where);
  }
}
