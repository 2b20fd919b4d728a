package io.tollgate.limiter.plan;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Key values and their hashes.
 *
 * <p>Generated values are 40 characters from a 62-letter alphabet drawn from {@link SecureRandom}
 * (about 238 bits), so an unsalted SHA-256 is enough to store them: a key's value cannot be
 * guessed, only stolen, and the hash does not give it back. Imported values must be at least
 * {@value #MIN_IMPORTED_LENGTH} characters.
 */
public final class ApiKeys {

  /** The shortest value {@code CreateKey} accepts for an imported key. */
  public static final int MIN_IMPORTED_LENGTH = 20;

  /** The longest key value accepted anywhere. */
  public static final int MAX_LENGTH = 256;

  private static final char[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiKeys() {}

  /** A new random key value. */
  public static String generate() {
    return random(40);
  }

  /** A new random key id (public, not secret): 10 characters. */
  public static String newId() {
    return random(10).toLowerCase(java.util.Locale.ROOT);
  }

  private static String random(int length) {
    char[] out = new char[length];
    for (int i = 0; i < length; i++) {
      out[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
    }
    return new String(out);
  }

  /** The stored form of a key value: the lower-case hex SHA-256 of its UTF-8 bytes. */
  public static String hash(String value) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(sha.digest(value.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
