package io.tollgate.limiter.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * A detail view of one item, in the manner of {@code kubectl describe}: one {@code label: value}
 * line per field, values aligned. A value with several lines continues under the first.
 */
final class Details {

  private final List<String[]> lines = new ArrayList<>();

  /** Adds a field; a {@code null} or empty value prints as "-". */
  Details add(String label, Object value) {
    String text = value == null || value.toString().isEmpty() ? "-" : value.toString();
    lines.add(new String[] {label, text});
    return this;
  }

  /** The fields, each line ended by a newline. */
  String render() {
    int width = 0;
    for (String[] line : lines) {
      width = Math.max(width, line[0].length() + 1);
    }
    StringBuilder out = new StringBuilder();
    String indent = " ".repeat(width + 2);
    for (String[] line : lines) {
      String label = line[0] + ":";
      String[] parts = line[1].split("\n", -1);
      out.append(label).append(" ".repeat(width - label.length() + 2)).append(parts[0])
          .append('\n');
      for (int i = 1; i < parts.length; i++) {
        out.append(indent).append(parts[i]).append('\n');
      }
    }
    return out.toString();
  }
}
