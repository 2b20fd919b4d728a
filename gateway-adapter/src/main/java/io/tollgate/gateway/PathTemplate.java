package io.tollgate.gateway;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A route's path template: literal segments and {@code {name}} parameters, each one whole
 * segment; a last segment {@code {name+}} takes the rest of the path (AWS's greedy parameter).
 *
 * <p>Matching works on the raw (still percent-encoded) path, segment by segment. When several
 * templates match, {@link #compareSpecificity} prefers the one whose first differing segment is a
 * literal, then a single parameter over a greedy one: {@code /pets/mine} beats {@code /pets/{id}}.
 */
public final class PathTemplate {

  private final String text;
  private final String[] segments;
  /** For each segment: the parameter's name, or null for a literal. */
  private final String[] params;
  private final boolean greedy;

  private PathTemplate(String text, String[] segments, String[] params, boolean greedy) {
    this.text = text;
    this.segments = segments;
    this.params = params;
    this.greedy = greedy;
  }

  /**
   * Parses a template.
   *
   * @throws IllegalArgumentException naming the problem
   */
  public static PathTemplate parse(String text) {
    if (!text.startsWith("/")) {
      throw new IllegalArgumentException("path must start with /");
    }
    String[] segments = split(text);
    String[] params = new String[segments.length];
    boolean greedy = false;
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < segments.length; i++) {
      String s = segments[i];
      if (s.isEmpty()) {
        throw new IllegalArgumentException("empty path segment");
      }
      if (s.startsWith("{") && s.endsWith("}")) {
        String name = s.substring(1, s.length() - 1);
        if (name.endsWith("+")) {
          if (i != segments.length - 1) {
            throw new IllegalArgumentException("a greedy parameter {" + name + "} must be last");
          }
          greedy = true;
          name = name.substring(0, name.length() - 1);
        }
        if (!name.matches("[A-Za-z0-9_.-]+")) {
          throw new IllegalArgumentException("bad parameter name '" + name + "'");
        }
        if (seen.contains(name)) {
          throw new IllegalArgumentException("parameter {" + name + "} appears twice");
        }
        seen.add(name);
        params[i] = name;
      } else if (s.contains("{") || s.contains("}")) {
        throw new IllegalArgumentException("a parameter must be a whole segment: '" + s + "'");
      }
    }
    return new PathTemplate(text, segments, params, greedy);
  }

  private static String[] split(String path) {
    if (path.equals("/")) {
      return new String[0];
    }
    String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    return p.substring(1).split("/", -1);
  }

  /** The parameter names, in order. */
  public List<String> parameterNames() {
    List<String> names = new ArrayList<>();
    for (String p : params) {
      if (p != null) {
        names.add(p);
      }
    }
    return Collections.unmodifiableList(names);
  }

  /** The parameters of a matching path, or null when the path does not match. */
  public Map<String, String> match(String path) {
    String[] in = split(path);
    if (greedy ? in.length < segments.length : in.length != segments.length) {
      return null;
    }
    Map<String, String> values = null;
    for (int i = 0; i < segments.length; i++) {
      if (params[i] == null) {
        if (!segments[i].equals(in[i])) {
          return null;
        }
        continue;
      }
      String value;
      if (greedy && i == segments.length - 1) {
        value = String.join("/", java.util.Arrays.copyOfRange(in, i, in.length));
      } else {
        value = in[i];
      }
      if (value.isEmpty()) {
        return null;
      }
      if (values == null) {
        values = new LinkedHashMap<>();
      }
      values.put(params[i], value);
    }
    return values == null ? Map.of() : values;
  }

  /** Negative when this template is more specific than {@code other}. */
  public int compareSpecificity(PathTemplate other) {
    int n = Math.min(segments.length, other.segments.length);
    for (int i = 0; i < n; i++) {
      int a = rank(i);
      int b = other.rank(i);
      if (a != b) {
        return Integer.compare(a, b);
      }
    }
    return Integer.compare(other.segments.length, segments.length);
  }

  private int rank(int i) {
    if (params[i] == null) {
      return 0;
    }
    return greedy && i == segments.length - 1 ? 2 : 1;
  }

  @Override
  public String toString() {
    return text;
  }
}
