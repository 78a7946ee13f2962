package io.decostream.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The console's budget control (issue 21 points 1 and 4) refuses what the encoder would. */
class BudgetRequestTest {

  @Test
  void acceptsTheControlsChoicesForAStreamOfTwelveByTwelvePatches() {
    for (String s : new String[] {"avg:12", "avg:8", "avg:6", "max:12", "none", "avg:3x4"}) {
      BudgetRequest r = BudgetRequest.fromJson("cam1", Map.of("budget", s), 12);
      assertEquals("cam1", r.streamId());
      assertEquals(s, r.spec());
    }
    assertEquals(
        36, BudgetRequest.fromJson("cam1", Map.of("budget", " avg:6 "), 12).checked().tokens());
  }

  @Test
  void refusesWithTheReasonToShow() {
    assertRefused("cam1", Map.of("budget", "avg:24"), 12, "larger than the vision tower's 12x12");
    assertRefused("cam1", Map.of("budget", "fast"), 12, "unknown pooling mode 'fast'");
    assertRefused("cam1", Map.of("budget", ""), 12, "empty token budget");
    assertRefused("cam1", Map.of(), 12, "empty token budget");
    assertRefused("cam1", Map.of("budget", 8), 12, "'budget' must be a string");
    assertRefused("cam1", Map.of("budget", "avg:" + "9".repeat(70)), 12, "at most 64");
    assertRefused("", Map.of("budget", "avg:6"), 12, "choose a stream first");
    assertRefused("a\nb", Map.of("budget", "avg:6"), 12, "contains control characters");
    Map<String, Object> nulls = new HashMap<>();
    nulls.put("budget", null);
    assertRefused("cam1", nulls, 12, "empty token budget");
    assertRefused("cam1", null, 12, "no JSON body");
    // before any tokens of the stream were seen, only the form is checked (the encoder checks the
    // grid against its own patch grid and dead-letters a budget too fine for it)
    assertEquals(
        "avg:24x24",
        BudgetRequest.fromJson("cam1", Map.of("budget", "avg:24"), 0).checked().spec());
  }

  private static void assertRefused(String stream, Map<String, Object> body, int grid, String why) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> BudgetRequest.fromJson(stream, body, grid));
    assertTrue(e.getMessage().contains(why), e.getMessage());
  }
}
