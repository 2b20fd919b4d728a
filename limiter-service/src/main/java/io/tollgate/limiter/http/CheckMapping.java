package io.tollgate.limiter.http;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.tollgate.limiter.service.InvalidRequestException;
import io.tollgate.limiter.protocol.RequestValidator;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * How {@code /check} turns a gateway's request into a {@code RateLimitRequest}: the mapping is
 * the query string of the {@code /check} URL, which the gateway's configuration fixes, and the
 * values come from the request headers the gateway sends (the original request's headers plus
 * {@code X-Forwarded-*}, {@code X-Original-*} and {@code X-Real-IP}).
 *
 * <p>Which header wins: the {@code X-Forwarded-Method}, {@code -Uri}, {@code -Host} and
 * {@code -Proto} a gateway sets itself (Traefik's ForwardAuth overwrites them) win over
 * {@code X-Original-*}, which Traefik passes through from the client unchanged. The gateway must
 * set or clear every header a source reads (deploy/nginx/tollgate.conf does), and must set
 * {@code X-Real-IP} or {@code X-Forwarded-For} itself: a header the client can send unchecked is
 * a value the client picks.
 *
 * <p>A value from the request longer than {@link RequestValidator#MAX_STRING_BYTES} UTF-8 bytes
 * (a long URI or header) is replaced by {@code sha256:} and the lower-case hex SHA-256 of its UTF-8 bytes, so
 * the request is still counted, one counter per distinct value, and is never refused as a bad
 * request; leaving the descriptor out instead would let a client skip a limit by padding a
 * value. A {@code domain_header} value that long counts as absent ({@code domain} applies). A
 * key or {@code =VALUE} literal that long is the mapping's fault and stays a 400.
 *
 * <pre>
 * /check?domain=edge&amp;descriptor=remote_address:remote_address&amp;descriptor=api_key:header.X-Api-Key
 * </pre>
 *
 * <ul>
 *   <li>{@code domain=NAME}: the domain; or {@code domain_header=HEADER}, the domain from that
 *       header (when the header is absent, {@code domain} is the fallback; with neither, 400);
 *   <li>{@code descriptor=KEY:SOURCE[,KEY:SOURCE...]}, repeated: one descriptor each, in order;
 *       each {@code KEY:SOURCE} is one entry whose value comes from the source (see
 *       {@link Source}). As with Envoy's rate-limit actions, a descriptor whose source is absent
 *       from the request is left out; when every descriptor is left out the request is allowed
 *       without asking the counters. Pieces are split on {@code ,} and {@code :} before they are
 *       percent-decoded, so a literal comma or colon is written {@code %2C} or {@code %3A};
 *   <li>{@code hits_addend=N}: the cost of the request (default 1).
 * </ul>
 *
 * Any other parameter, an unknown source or a malformed entry is a bad request (400 with the
 * reason), as unknown fields are in the rule files.
 */
public final class CheckMapping {

  /** Where an entry's value comes from. */
  public enum Source {
    /** {@code X-Real-IP}, else the last address of {@code X-Forwarded-For}. */
    REMOTE_ADDRESS,
    /** {@code X-Forwarded-Method}, else {@code X-Original-Method}, else the method of the call. */
    METHOD,
    /** The original path without its query: from {@code X-Forwarded-Uri}, else {@code X-Original-URI}. */
    PATH,
    /** The original path with its query, from the same headers. */
    URI,
    /** {@code X-Forwarded-Host}, else {@code Host}. */
    HOST,
    /** {@code X-Forwarded-Proto}. */
    PROTO,
    /** The header named after {@code header.}. */
    HEADER,
    /** The literal after {@code =}. */
    LITERAL
  }

  /** One entry: its key and where its value comes from. */
  record Entry(String key, Source source, String argument) {}

  private final String domain;
  private final String domainHeader;
  private final List<List<Entry>> descriptors;
  private final long hitsAddend;

  private CheckMapping(String domain, String domainHeader, List<List<Entry>> descriptors,
      long hitsAddend) {
    this.domain = domain;
    this.domainHeader = domainHeader;
    this.descriptors = descriptors;
    this.hitsAddend = hitsAddend;
  }

  /**
   * Parses the raw (still percent-encoded) query string of a {@code /check} URL.
   *
   * @throws InvalidRequestException naming the parameter and the problem
   */
  public static CheckMapping parse(String rawQuery) {
    String domain = null;
    String domainHeader = null;
    long hitsAddend = 0;
    List<List<Entry>> descriptors = new ArrayList<>();
    if (rawQuery != null && !rawQuery.isEmpty()) {
      for (String param : rawQuery.split("&")) {
        if (param.isEmpty()) {
          continue;
        }
        int eq = param.indexOf('=');
        String name = decode(eq < 0 ? param : param.substring(0, eq), "parameter name");
        String raw = eq < 0 ? "" : param.substring(eq + 1);
        switch (name) {
          case "domain" -> domain = nonEmpty(decode(raw, name), name);
          case "domain_header" -> domainHeader = nonEmpty(decode(raw, name), name);
          case "hits_addend" -> hitsAddend = hitsAddend(decode(raw, name));
          case "descriptor" -> descriptors.add(descriptor(raw, descriptors.size()));
          default -> throw new InvalidRequestException("unknown parameter '" + name
              + "' (expected domain, domain_header, descriptor or hits_addend)");
        }
      }
    }
    if (domain == null && domainHeader == null) {
      throw new InvalidRequestException("domain or domain_header is required");
    }
    if (descriptors.isEmpty()) {
      throw new InvalidRequestException("at least one descriptor is required");
    }
    if (descriptors.size() > RequestValidator.MAX_DESCRIPTORS) {
      throw new InvalidRequestException("descriptor is given " + descriptors.size()
          + " times; at most " + RequestValidator.MAX_DESCRIPTORS + " are allowed");
    }
    return new CheckMapping(domain, domainHeader, List.copyOf(descriptors), hitsAddend);
  }

  private static List<Entry> descriptor(String raw, int index) {
    String where = "descriptor[" + index + "]";
    if (raw.isEmpty()) {
      throw new InvalidRequestException(where + " is empty (expected KEY:SOURCE[,KEY:SOURCE...])");
    }
    List<Entry> entries = new ArrayList<>();
    for (String piece : raw.split(",", -1)) {
      int colon = piece.indexOf(':');
      if (colon <= 0) {
        throw new InvalidRequestException(where + ": '" + decode(piece, where)
            + "' is not KEY:SOURCE");
      }
      String key = decode(piece.substring(0, colon), where);
      String source = decode(piece.substring(colon + 1), where);
      entries.add(entry(key, source, where + " entry '" + key + "'"));
    }
    if (entries.size() > RequestValidator.MAX_ENTRIES) {
      throw new InvalidRequestException(where + " has " + entries.size() + " entries; at most "
          + RequestValidator.MAX_ENTRIES + " are allowed");
    }
    return List.copyOf(entries);
  }

  private static Entry entry(String key, String source, String where) {
    if (source.startsWith("=")) {
      return new Entry(key, Source.LITERAL, source.substring(1));
    }
    if (source.regionMatches(true, 0, "header.", 0, 7)) {
      String header = source.substring(7);
      if (header.isEmpty()) {
        throw new InvalidRequestException(where + ": header. needs a header name");
      }
      return new Entry(key, Source.HEADER, header);
    }
    try {
      Source s = Source.valueOf(source.toUpperCase(Locale.ROOT));
      if (s != Source.HEADER && s != Source.LITERAL) {
        return new Entry(key, s, "");
      }
    } catch (IllegalArgumentException unknown) {
      // reported below
    }
    throw new InvalidRequestException(where + ": unknown source '" + source
        + "' (expected remote_address, method, path, uri, host, proto, header.NAME or =VALUE)");
  }

  private static long hitsAddend(String value) {
    try {
      long n = Long.parseLong(value);
      if (n < 0 || n > RequestValidator.MAX_HITS_ADDEND) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new InvalidRequestException("hits_addend: '" + value + "' is not a number from 0 to "
          + RequestValidator.MAX_HITS_ADDEND);
    }
  }

  private static String nonEmpty(String value, String name) {
    if (value.isEmpty()) {
      throw new InvalidRequestException(name + " must not be empty");
    }
    return value;
  }

  private static String decode(String raw, String where) {
    return Utf8.percentDecoded(raw, where);
  }


  /**
   * The request for one call, or {@code null} when every descriptor was left out because a
   * source was absent.
   *
   * @param headers the call's header values by name (case-insensitive), several lines of one
   *     header joined with {@code ,}; {@code null} when absent
   * @param method the method of the call itself
   * @throws InvalidRequestException when the domain header is absent and no fallback is set
   */
  public RateLimitRequest apply(Function<String, String> headers, String method) {
    String d = domainHeader == null ? null : headers.apply(domainHeader);
    if (d == null || d.isEmpty() || RequestValidator.tooLong(d)) {
      d = domain;
    }
    if (d == null) {
      throw new InvalidRequestException("header " + domainHeader
          + " (domain_header) is absent and no domain is set");
    }
    RateLimitRequest.Builder request = RateLimitRequest.newBuilder().setDomain(d);
    if (hitsAddend > 0) {
      request.setHitsAddend((int) hitsAddend);
    }
    for (List<Entry> descriptor : descriptors) {
      RateLimitDescriptor.Builder out = RateLimitDescriptor.newBuilder();
      boolean complete = true;
      for (Entry e : descriptor) {
        String value = value(e, headers, method);
        if (value == null) {
          complete = false;
          break;
        }
        out.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(e.key())
            .setValue(e.source() != Source.LITERAL && RequestValidator.tooLong(value)
                ? digest(value) : value));
      }
      if (complete) {
        request.addDescriptors(out);
      }
    }
    return request.getDescriptorsCount() == 0 ? null : request.build();
  }

  private static String value(Entry e, Function<String, String> headers, String method) {
    return switch (e.source()) {
      case LITERAL -> e.argument();
      case HEADER -> headers.apply(e.argument());
      case REMOTE_ADDRESS -> {
        String real = headers.apply("X-Real-IP");
        if (real != null && !real.isBlank()) {
          yield real.trim();
        }
        // The last address is the one the nearest proxy (the gateway) added: a client can put
        // anything before it, nothing after it.
        String forwarded = headers.apply("X-Forwarded-For");
        if (forwarded == null) {
          yield null;
        }
        String last = forwarded.substring(forwarded.lastIndexOf(',') + 1).trim();
        yield last.isEmpty() ? null : last;
      }
      // X-Forwarded-* first: Traefik sets those itself but passes a client's X-Original-* on.
      case METHOD -> {
        String m = first(headers, "X-Forwarded-Method", "X-Original-Method");
        yield m != null && !m.isEmpty() ? m : method;
      }
      case URI -> first(headers, "X-Forwarded-Uri", "X-Original-URI");
      case PATH -> {
        String uri = first(headers, "X-Forwarded-Uri", "X-Original-URI");
        if (uri == null) {
          yield null;
        }
        int q = uri.indexOf('?');
        yield q < 0 ? uri : uri.substring(0, q);
      }
      case HOST -> first(headers, "X-Forwarded-Host", "Host");
      case PROTO -> headers.apply("X-Forwarded-Proto");
    };
  }

  /** The stand-in for a value too long to be a descriptor value; see the class comment. */
  static String digest(String value) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256")
          .digest(value.getBytes(StandardCharsets.UTF_8));
      return "sha256:" + HexFormat.of().formatHex(hash);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  private static String first(Function<String, String> headers, String a, String b) {
    String v = headers.apply(a);
    return v != null && !v.isEmpty() ? v : headers.apply(b);
  }
}
