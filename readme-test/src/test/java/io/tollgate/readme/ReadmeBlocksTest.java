package io.tollgate.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReadmeBlocksTest {

  @Test
  void onlyTestedBlocksAreTakenWithTheirShownOutputApart() {
    String md = String.join("\n",
        "# Title",
        "```sh",
        "mvn -B verify",
        "```",
        "```sh tested",
        "echo hello",
        "#> hello",
        "# a comment stays in the script",
        "```",
        "```yaml",
        "a: 1",
        "```",
        "```sh tested",
        "date",
        "```");
    List<ReadmeTourIT.Block> blocks = ReadmeTourIT.blocks(md);
    assertEquals(2, blocks.size());
    assertEquals(List.of("echo hello", "# a comment stays in the script"),
        blocks.get(0).script());
    assertEquals(List.of("hello"), blocks.get(0).expected());
    assertEquals(5, blocks.get(0).line());
    assertEquals(List.of("date"), blocks.get(1).script());
    assertEquals(List.of(), blocks.get(1).expected());
  }

  @Test
  void shownLinesMatchInOrderWithDotsAsWildcards() {
    List<String> out = List.of("noise", "id:       k3y1d", "200 429 ", "\"reason\":\"THROTTLED\"");
    assertNull(ReadmeTourIT.firstUnmatched(List.of("id:       ...", "200 429",
        "\"reason\":\"THROTTLED\""), out));
    assertEquals("200 200", ReadmeTourIT.firstUnmatched(List.of("200 200"), out));
    // Order matters: a line shown after another must come after it.
    assertEquals("id:       ...", ReadmeTourIT.firstUnmatched(List.of("200 429 ",
        "id:       ..."), out));
    // Regular-expression characters in a shown line are literal.
    assertEquals("(.*)", ReadmeTourIT.firstUnmatched(List.of("(.*)"), out));
  }
}
