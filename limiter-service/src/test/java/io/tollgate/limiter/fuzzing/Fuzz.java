package io.tollgate.limiter.fuzzing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Generated inputs for fuzz tests: a seeded random source per case, text mutations, YAML-shaped
 * trees, and byte strings that are not UTF-8.
 *
 * <p>Every case is reproducible: case {@code i} of a run draws from {@code new Random(seed + i)}, and
 * a failure names the seed and the case. The seed is fixed by default so that CI runs the same
 * cases every time; {@code -Dfuzz.seed=N} runs other ones and {@code -Dfuzz.cases=N} more or fewer.
 */
public final class Fuzz {

  /** The cases of one property unless {@code -Dfuzz.cases} says otherwise. */
  public static int cases(int defaultCases) {
    return Integer.getInteger("fuzz.cases", defaultCases);
  }

  private static final long SEED = Long.getLong("fuzz.seed", 20261204L);

  /** Numbers at and past the edges of what parsers and checks accept. */
  public static final List<String> NUMBERS = List.of("0", "-1", "-0", "1e400", ".nan", "-.inf",
      "0x7fffffff", "0o17", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
      "1_000", "2147483648", "1.5", "1e3", "00", "+5", " 7", "");

  /** Fragments that tend to break YAML and JSON readers and the checks behind them. */
  public static final List<String> FRAGMENTS = concat(NUMBERS, List.of(
      ":", ": ", "- ", "-", "{", "}", "[", "]", ",", "&a ", "*a", "<<: *a", "!!str ", "!!int ",
      "!!binary ", "!!python/object:os.system ", "!!javax.script.ScriptEngineManager ", "\t", "\"",
      "'", "\\", "\\u0000", "\\ud800", "\n", "\n  ", "\n    - ", "#", "|", ">", "?",
      "%YAML 1.1\n", "---\n", "...\n", "~", "null", "true", "no", "yes", "second", "SECOND",
      "hour", "fortnight", "day", "week", "month", "token_bucket", "sliding_window", "fixed_window",
      "Europe/Berlin", "Mars/Olympus", "UTC+25", "GET /pets/{id}", "* /pets", "\u0000", "\u00e9",
      "\ud83d\ude00", "\ufeff", "\u2028", "\ud800", "a".repeat(300), "x: [" + "[".repeat(200),
      "{a: ".repeat(100), "{\"a\":".repeat(100)));

  private final long seed;
  private final int index;
  private final Random random;

  private Fuzz(long seed, int index) {
    this.seed = seed;
    this.index = index;
    this.random = new Random(seed + index);
  }

  /**
   * Runs {@code property} on {@code cases} generated cases; a failure is rethrown with the seed and
   * the case that produced it.
   */
  public static void check(int cases, CaseCheck property) {
    for (int i = 0; i < cases; i++) {
      Fuzz fuzz = new Fuzz(SEED, i);
      try {
        property.check(fuzz);
      } catch (Throwable t) {
        throw new AssertionError("fuzz case " + i + " of seed " + SEED + " (-Dfuzz.seed=" + SEED
            + "): " + t.getMessage(), t);
      }
    }
  }

  /** One case of a property. */
  @FunctionalInterface
  public interface CaseCheck {
    void check(Fuzz fuzz) throws Throwable;
  }

  /** The random source of this case. */
  public Random random() {
    return random;
  }

  /** A number in {@code [0, bound)}. */
  public int nextInt(int bound) {
    return random.nextInt(bound);
  }

  /** True with probability {@code p}. */
  public boolean chance(double p) {
    return random.nextDouble() < p;
  }

  /** One of {@code choices}. */
  public <T> T pick(List<T> choices) {
    return choices.get(random.nextInt(choices.size()));
  }

  /** Any UTF-16 text up to {@code maxLength} characters, lone surrogates included. */
  public String anyText(int maxLength) {
    int length = random.nextInt(maxLength + 1);
    StringBuilder text = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      switch (random.nextInt(4)) {
        case 0 -> text.append((char) (0x20 + random.nextInt(0x5f)));
        case 1 -> text.append((char) random.nextInt(0x20));
        case 2 -> text.append((char) random.nextInt(0x10000));
        default -> text.append(pick(FRAGMENTS));
      }
    }
    return text.toString();
  }

  /** Up to {@code maxParts} fragments run together. */
  public String fragments(int maxParts) {
    StringBuilder text = new StringBuilder();
    int parts = random.nextInt(maxParts + 1);
    for (int i = 0; i < parts; i++) {
      text.append(pick(FRAGMENTS));
    }
    return text.toString();
  }

  /**
   * A byte sequence that is not valid UTF-8: a stray continuation byte, an over-long form, a lone
   * or truncated lead byte, an encoded surrogate, or a byte that UTF-8 never uses.
   */
  public byte[] invalidUtf8() {
    byte[][] bad = {
        {(byte) 0x80}, {(byte) 0xbf}, {(byte) 0xc0, (byte) 0xaf}, {(byte) 0xc1, (byte) 0xbf},
        {(byte) 0xe0, (byte) 0x80, (byte) 0xaf}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
        {(byte) 0xf5, (byte) 0x80, (byte) 0x80, (byte) 0x80}, {(byte) 0xfe}, {(byte) 0xff},
        {(byte) 0xc3}, {(byte) 0xe2, (byte) 0x82}, {(byte) 0xf0, (byte) 0x9f, (byte) 0x98}};
    String before = anyAscii(5);
    String after = anyAscii(5);
    byte[] middle = bad[random.nextInt(bad.length)];
    byte[] a = before.getBytes(StandardCharsets.US_ASCII);
    byte[] b = after.getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[a.length + middle.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(middle, 0, out, a.length, middle.length);
    System.arraycopy(b, 0, out, a.length + middle.length, b.length);
    return out;
  }

  /** Printable ASCII letters and digits, up to {@code maxLength}. */
  public String anyAscii(int maxLength) {
    int length = random.nextInt(maxLength + 1);
    StringBuilder text = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      text.append("abcdefghijklmnopqrstuvwxyz0123456789".charAt(random.nextInt(36)));
    }
    return text.toString();
  }

  /** {@code text} with one to {@code maxEdits} random edits: deletions, insertions, line changes. */
  public String mutate(String text, int maxEdits) {
    int edits = 1 + random.nextInt(maxEdits);
    for (int e = 0; e < edits; e++) {
      text = mutateOnce(text);
    }
    return text;
  }

  private String mutateOnce(String text) {
    int at = random.nextInt(text.length() + 1);
    switch (random.nextInt(7)) {
      case 0 -> {
        int end = Math.min(text.length(), at + 1 + random.nextInt(40));
        return text.substring(0, at) + text.substring(end);
      }
      case 1 -> {
        return text.substring(0, at) + pick(FRAGMENTS) + text.substring(at);
      }
      case 2 -> {
        return text.replaceFirst("(?<=: )\\d+", java.util.regex.Matcher.quoteReplacement(
            pick(NUMBERS)));
      }
      case 3 -> {
        List<String> lines = lines(text);
        int i = random.nextInt(lines.size());
        lines.add(i, lines.get(i));
        return String.join("\n", lines);
      }
      case 4 -> {
        List<String> lines = lines(text);
        int i = random.nextInt(lines.size());
        String line = lines.get(i);
        int indent = line.length() - line.stripLeading().length();
        lines.set(i, random.nextBoolean() ? " ".repeat(1 + random.nextInt(4)) + line
            : line.substring(Math.min(indent, 1 + random.nextInt(4))));
        return String.join("\n", lines);
      }
      case 5 -> {
        List<String> lines = lines(text);
        int i = random.nextInt(lines.size());
        int j = random.nextInt(lines.size());
        String t = lines.get(i);
        lines.set(i, lines.get(j));
        lines.set(j, t);
        return String.join("\n", lines);
      }
      default -> {
        if (text.isEmpty()) {
          return text;
        }
        char[] chars = text.toCharArray();
        chars[Math.min(at, chars.length - 1)] = (char) random.nextInt(0x80);
        return new String(chars);
      }
    }
  }

  private static List<String> lines(String text) {
    return new ArrayList<>(List.of(text.split("\n", -1)));
  }

  /**
   * A YAML- or JSON-shaped value up to {@code depth} levels deep: maps keyed mostly by
   * {@code fields}, lists, and scalars of every kind (null included).
   */
  public Object tree(int depth, List<String> fields) {
    int kind = depth == 0 ? 0 : random.nextInt(8);
    if (kind < 2) {
      return scalar();
    }
    if (kind < 4) {
      List<Object> list = new ArrayList<>();
      int n = random.nextInt(5);
      for (int i = 0; i < n; i++) {
        list.add(tree(depth - 1, fields));
      }
      return list;
    }
    Map<String, Object> map = new LinkedHashMap<>();
    int n = random.nextInt(7);
    for (int i = 0; i < n; i++) {
      String key = chance(0.9) ? pick(fields) : anyText(8);
      map.put(key, tree(depth - 1, fields));
    }
    return map;
  }

  /** A scalar: text, a fragment, an integer of any size, a double, a boolean or null. */
  public Object scalar() {
    return switch (random.nextInt(7)) {
      case 0 -> pick(FRAGMENTS);
      case 1 -> random.nextLong();
      case 2 -> random.nextInt(1_000_002) - 2;
      case 3 -> random.nextDouble() * Math.pow(10, random.nextInt(40) - 10);
      case 4 -> random.nextBoolean();
      case 5 -> anyText(20);
      default -> null;
    };
  }

  /** The seed and case, for messages. */
  @Override
  public String toString() {
    return "case " + index + " of seed " + seed;
  }

  /**
   * Runs {@code call} on {@code worker} and returns its result or throws what it threw, or fails
   * when it takes longer than {@code limitSeconds}: a case that hangs is a failure, not a stuck
   * build.
   */
  public static <T> T within(ExecutorService worker, long limitSeconds, Callable<T> call)
      throws Throwable {
    Future<T> result = worker.submit(call);
    try {
      return result.get(limitSeconds, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      result.cancel(true);
      throw new AssertionError("took more than " + limitSeconds + " s");
    } catch (ExecutionException e) {
      throw e.getCause();
    }
  }

  /** A daemon single-thread executor for {@link #within}. */
  public static ExecutorService worker(String name) {
    return Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return List.copyOf(all);
  }
}
