package io.tollgate.limiter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TableTest {

  @Test
  void padsColumnsToTheWidestCellAndRightAlignsNumbers() {
    String table = new Table("ID", "NAME", "#COUNT", "NOTE")
        .row("basic", "Basic plan", 5, "x")
        .row("gold-tier", null, 12345, "")
        .render();
    assertEquals(""
        + "ID          NAME         COUNT   NOTE\n"
        + "basic       Basic plan       5   x\n"
        + "gold-tier   -            12345   -\n", table);
  }

  @Test
  void leavesNoTrailingBlanks() {
    String table = new Table("A", "LONG HEADER").row("x", "y").render();
    assertEquals("A   LONG HEADER\nx   y\n", table);
  }

  @Test
  void rejectsRowsOfTheWrongWidth() {
    assertThrows(IllegalArgumentException.class, () -> new Table("A", "B").row("only one"));
  }

  @Test
  void detailsAlignValuesAndIndentContinuationLines() {
    String text = new Details().add("id", "basic").add("stages", "a/b\n  GET /x: 1/s burst 2")
        .add("empty", "").render();
    assertEquals(""
        + "id:      basic\n"
        + "stages:  a/b\n"
        + "           GET /x: 1/s burst 2\n"
        + "empty:   -\n", text);
  }

  @Test
  void durationsReadAsPeopleSayThem() {
    assertEquals("0.25s", TimeFormat.duration(d(0, 250_000_000)));
    assertEquals("0s", TimeFormat.duration(d(0, 0)));
    assertEquals("42s", TimeFormat.duration(d(42, 0)));
    assertEquals("3m05s", TimeFormat.duration(d(185, 0)));
    assertEquals("2h00m10s", TimeFormat.duration(d(7210, 0)));
    assertEquals("6d04h00m", TimeFormat.duration(d(6 * 86_400 + 4 * 3600 + 30, 0)));
  }

  @Test
  void timestampsAreIsoUtcToTheSecond() {
    assertEquals("2026-11-27T12:00:00Z", TimeFormat.instant(
        com.google.protobuf.Timestamp.newBuilder().setSeconds(1_795_780_800L)
            .setNanos(250_000_000).build()));
    assertEquals("-", TimeFormat.instant(com.google.protobuf.Timestamp.getDefaultInstance()));
  }

  private static com.google.protobuf.Duration d(long seconds, int nanos) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(seconds).setNanos(nanos).build();
  }
}
