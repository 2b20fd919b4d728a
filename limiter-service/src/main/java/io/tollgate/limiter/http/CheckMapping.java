package io.tollgate.limiter.http;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.tollgate.limiter.service.InvalidRequestException;
import io.tollgate.limiter.service.RequestValidator;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * How {@code /check} turns a gateway's request into a {@code RateLimitRequest}: the mapping is
 * the query string of the {@code /check} URL, which the gateway's configuration fixes, and the
 * values come from the request headers the gateway sends (the original request's headers plus
 * {@code X-Original-*}, {@code X-Forwarded-*} and {@code X-Real-IP}).
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
    /** {@code X-Original-Method}, else {@code X-Forwarded-Method}, else the method of the call. */
    METHOD,
    /** The original path without its query: from {@code X-Original-URI}, else {@code X-Forwarded-Uri}. */
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
    try {
      return URLDecoder.decode(raw, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new InvalidRequestException(where + ": bad percent-encoding in '" + raw + "'");
    }
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
    if (d == null || d.isEmpty()) {
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
        out.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(e.key()).setValue(value));
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
      case METHOD -> {
        String m = first(headers, "X-Original-Method", "X-Forwarded-Method");
        yield m != null ? m : method;
      }
      case URI -> first(headers, "X-Original-URI", "X-Forwarded-Uri");
      case PATH -> {
        String uri = first(headers, "X-Original-URI", "X-Forwarded-Uri");
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

  private static String first(Function<String, String> headers, String a, String b) {
    String v = headers.apply(a);
    return v != null && !v.isEmpty() ? v : headers.apply(b);
  }
}
