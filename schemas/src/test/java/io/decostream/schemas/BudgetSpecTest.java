package io.decostream.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The one token-budget check (issue 21 point 4) that the encoder, the CLI and the console make. */
class BudgetSpecTest {

  @Test
  void parsesEveryFormOfTheGrammar() {
    assertEquals(new BudgetSpec("avg", 12, 12), BudgetSpec.parse("avg:12", 24));
    assertEquals(new BudgetSpec("avg", 8, 6), BudgetSpec.parse(" Average:8x6 ", 24));
    assertEquals(new BudgetSpec("avg", 6, 6), BudgetSpec.parse("6", 24));
    assertEquals(new BudgetSpec("max", 12, 12), BudgetSpec.parse("MAX:12", 24));
    assertEquals(new BudgetSpec("none", 0, 0), BudgetSpec.parse("none", 24));
    assertEquals(new BudgetSpec("none", 24, 24), BudgetSpec.parse("none:24", 24));
    assertEquals("avg:6x6", BudgetSpec.parse("avg:6", 12).spec());
    assertEquals("none", BudgetSpec.parse("none", 12).spec());
    assertEquals(36, BudgetSpec.parse("avg:6", 12).tokens());
    assertEquals(144, BudgetSpec.parse("none", 12).tokens(12, 12));
    assertThrows(IllegalStateException.class, () -> BudgetSpec.parse("none", 12).tokens());
    // patch grid unknown: only the form is checked
    assertEquals(new BudgetSpec("avg", 99, 99), BudgetSpec.parse("avg:99", 0));
  }

  @Test
  void refusesBadSpecsWithTheReason() {
    assertMessage("median:4", 24, "unknown pooling mode 'median'");
    assertMessage("avg", 24, "needs an output grid");
    assertMessage("avg:0", 24, "grid must be positive");
    assertMessage("avg:4x4x4", 24, "expected N or NxM");
    assertMessage("avg:x", 24, "expected N or NxM");
    assertMessage("max:25x2", 24, "25x2 grid, larger than the vision tower's 24x24");
    assertMessage("avg:13", 12, "larger than the vision tower's 12x12 patch grid");
    assertMessage("none:6", 12, "use none or none:12");
    assertMessage("a".repeat(65), 24, "at most 64");
    assertMessage("avg:\n6", 24, "'avg:\\u000a6' contains control characters");
    assertMessage("  ", 24, "empty token budget");
    assertMessage(null, 24, "empty token budget");
  }

  @Test
  void checksControlRecordsKeyedByTheirStream() {
    Topic<BudgetControl> t = Topics.defaults().control();
    BudgetSpec.Verdict ok = check(t, "cam1", record("cam1", "avg:8"), 24);
    assertTrue(ok.accepted(), ok.reason());
    assertEquals("avg:8x8", ok.spec().spec());
    assertEquals("cam1", ok.streamId());

    BudgetSpec.Verdict wrongKey = check(t, "cam2", record("cam1", "avg:8"), 24);
    assertFalse(wrongKey.accepted());
    assertTrue(wrongKey.reason().contains("is not its stream id"), wrongKey.reason());

    BudgetSpec.Verdict tooFine = check(t, "cam1", record("cam1", "avg:30"), 24);
    assertTrue(tooFine.reason().startsWith("bad token budget for stream cam1:"), tooFine.reason());

    BudgetSpec.Verdict tomb = BudgetSpec.check(t, t.name(), bytes("cam1"), null, 24);
    assertTrue(tomb.reason().contains("tombstone"), tomb.reason());

    BudgetSpec.Verdict garbage =
        BudgetSpec.check(t, t.name(), bytes("cam1"), new byte[] {1, 2, 3}, 24);
    assertTrue(garbage.reason().startsWith("not a BudgetControl record"), garbage.reason());

    BudgetSpec.Verdict ctl = check(t, "a\u0001b", record("a\u0001b", "avg:8"), 24);
    assertNull(ctl.streamId(), "a stream id with control characters is not echoed raw");
    assertTrue(ctl.reason().contains("'a\\u0001b' contains control characters"), ctl.reason());

    assertEquals("budget for an empty stream id", BudgetSpec.streamIdProblem(" "));
    assertTrue(BudgetSpec.streamIdProblem("x".repeat(257)).contains("at most 256"));
    assertNull(BudgetSpec.streamIdProblem("cam1"));
  }

  private static void assertMessage(String spec, int grid, String part) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BudgetSpec.parse(spec, grid));
    assertTrue(e.getMessage().contains(part), e.getMessage());
  }

  private static BudgetSpec.Verdict check(Topic<BudgetControl> t, String key, byte[] value, int g) {
    return BudgetSpec.check(t, t.name(), bytes(key), value, g);
  }

  private static byte[] record(String stream, String spec) {
    Topic<BudgetControl> t = Topics.defaults().control();
    return t.valueSerde()
        .serializer()
        .serialize(
            t.name(),
            BudgetControl.newBuilder()
                .setStreamId(stream)
                .setCompressor(spec)
                .setRequestedAtMillis(1L)
                .build());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
