package io.tollgate.limiter.rule;

/**
 * A read-only view of one request descriptor's entries, so matching needs no copy of the wire
 * message.
 */
public interface DescriptorView {

  /** Number of entries. */
  int size();

  /** The key of entry {@code i}. */
  String key(int i);

  /** The value of entry {@code i}; may be empty. */
  String value(int i);
}
