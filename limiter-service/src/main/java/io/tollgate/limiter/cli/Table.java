package io.tollgate.limiter.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * A fixed-width text table in the manner of {@code kubectl get}: an upper-case header row, then
 * one row per item, columns separated by three spaces. Columns marked numeric are right-aligned.
 * The last column is not padded, so lines carry no trailing blanks.
 */
final class Table {

  private static final String GAP = "   ";

  private final String[] headers;
  private final boolean[] numeric;
  private final List<String[]> rows = new ArrayList<>();

  /**
   * @param headers the column titles; a title starting with '#' marks a right-aligned (numeric)
   *     column, the '#' itself is not shown
   */
  Table(String... headers) {
    this.headers = new String[headers.length];
    this.numeric = new boolean[headers.length];
    for (int i = 0; i < headers.length; i++) {
      numeric[i] = headers[i].startsWith("#");
      this.headers[i] = numeric[i] ? headers[i].substring(1) : headers[i];
    }
  }

  /** Adds a row; {@code null} cells print as "-". */
  Table row(Object... cells) {
    if (cells.length != headers.length) {
      throw new IllegalArgumentException("row has " + cells.length + " cells, table has "
          + headers.length + " columns");
    }
    String[] row = new String[cells.length];
    for (int i = 0; i < cells.length; i++) {
      row[i] = cells[i] == null || cells[i].toString().isEmpty() ? "-" : cells[i].toString();
    }
    rows.add(row);
    return this;
  }

  /** The number of rows added. */
  int size() {
    return rows.size();
  }

  /** The table, each line ended by a newline. */
  String render() {
    int[] widths = new int[headers.length];
    for (int i = 0; i < headers.length; i++) {
      widths[i] = headers[i].length();
      for (String[] row : rows) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    StringBuilder out = new StringBuilder();
    line(out, headers, widths);
    for (String[] row : rows) {
      line(out, row, widths);
    }
    return out.toString();
  }

  private void line(StringBuilder out, String[] cells, int[] widths) {
    int start = out.length();
    for (int i = 0; i < cells.length; i++) {
      if (i > 0) {
        out.append(GAP);
      }
      int pad = widths[i] - cells[i].length();
      if (numeric[i]) {
        out.append(" ".repeat(pad)).append(cells[i]);
      } else {
        out.append(cells[i]);
        if (i < cells.length - 1) {
          out.append(" ".repeat(pad));
        }
      }
    }
    int end = out.length();
    while (end > start && out.charAt(end - 1) == ' ') {
      end--;
    }
    out.setLength(end);
    out.append('\n');
  }
}
