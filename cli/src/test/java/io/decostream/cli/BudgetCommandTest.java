package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.tiny.TinyFamilies;
import io.decostream.nn.tiny.TinyPack;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code deco budget}: the grid chosen for a frame count, and the local check of a spec. */
class BudgetCommandTest {
  @TempDir Path dir;

  record Run(int status, String out, String err) {}

  /** Runs deco with stdout and the command's error stream captured (no broker: --dry-run). */
  static Run deco(String... args) {
    CommandLine cl = Deco.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err, true));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream old = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      int status = Deco.execute(cl, args);
      return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString());
    } finally {
      System.setOut(old);
    }
  }

  @Test
  void choosesTheFinestGridThatLetsTheFramesFit() {
    // 4096 - 256 = 3840 tokens for 64 frames: 60 each, so 7x7 = 49 (8x8 = 64 does not fit)
    BudgetCommand.Choice c = BudgetCommand.choose(64, 4096, 256, 24);
    assertEquals(7, c.grid());
    assertEquals(49, c.tokensPerFrame());
    assertEquals("avg:7", c.spec());
    // exactly fitting: 8 frames x 144 = 1152 = 1408 - 256
    assertEquals(12, BudgetCommand.choose(8, 1408, 256, 24).grid());
    assertEquals(11, BudgetCommand.choose(8, 1407, 256, 24).grid());
    // never finer than the patch grid
    assertEquals(24, BudgetCommand.choose(1, 1_000_000, 256, 24).grid());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> BudgetCommand.choose(5000, 4096, 256, 24));
    assertTrue(e.getMessage().contains("do not fit even at 1 token per frame"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> BudgetCommand.choose(0, 4096, 256, 24));
  }

  @Test
  void framesWithAModelReadItsContextAndPatchGrid() throws Exception {
    Path model = dir.resolve("pack");
    Files.createDirectories(model);
    Files.writeString(
        model.resolve("config.json"),
        "{\"model_type\":\"llava_next_video\",\"text_config\":{\"max_position_embeddings\":4096,\"vocab_size\":32064}}");
    Run r =
        deco(
            "budget",
            "--stream",
            "cam1",
            "--frames",
            "64",
            "--model",
            model.toString(),
            "--dry-run");
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().contains("avg:7 chosen: 49 tokens per frame"), r.out());
    assertTrue(r.out().contains("patch grid 24x24"), r.out());
    assertTrue(r.out().contains("avg:7x7 (49 tokens per frame), not sent"), r.out());
  }

  @Test
  void aBudgetTheModelsFamilyCannotTakeIsRefusedBeforeItIsSent() {
    // llava_onevision pools after its projector (spec §3.4): the encoder must ship its whole grid
    Path ov = dir.resolve("ov");
    TinyFamilies.write(ov, ModelFamily.LLAVA_ONEVISION, TinyPack.Spec.defaults(), 7);
    Run pooled = deco("budget", "--stream", "cam1", "avg:8", "--model", ov.toString(), "--dry-run");
    assertEquals(1, pooled.status(), pooled.out());
    assertTrue(
        pooled.err().contains("budget avg:8 refused: llava_onevision pools after"), pooled.err());
    Run byFrames =
        deco("budget", "--stream", "cam1", "--frames", "8", "--model", ov.toString(), "--dry-run");
    assertEquals(1, byFrames.status(), byFrames.out());
    assertTrue(byFrames.err().contains("(use none)"), byFrames.err());
    Run none = deco("budget", "--stream", "cam1", "none", "--model", ov.toString(), "--dry-run");
    assertEquals(0, none.status(), none.err());
    assertTrue(none.out().contains("not sent"), none.out());
    // the same budget on a llava_next_video pack, whose pooling is its own step, is accepted
    Path nv = dir.resolve("nv");
    TinyFamilies.write(nv, ModelFamily.LLAVA_NEXT_VIDEO, TinyPack.Spec.defaults(), 7);
    Run ok = deco("budget", "--stream", "cam1", "avg:8", "--model", nv.toString(), "--dry-run");
    assertEquals(0, ok.status(), ok.err());
  }

  @Test
  void framesWithAnExplicitContext() {
    Run r =
        deco(
            "budget",
            "--stream",
            "cam1",
            "--frames",
            "16",
            "--context",
            "2304",
            "--reserved",
            "0",
            "--dry-run");
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().contains("avg:12 chosen: 144 tokens per frame"), r.out());
  }

  @Test
  void aBadSpecIsRefusedLocallyWithItsReason() {
    Run unknown = deco("budget", "--stream", "cam1", "blur:8", "--dry-run");
    assertEquals(1, unknown.status());
    assertTrue(
        unknown.err().contains("deco budget: error: bad token budget for stream cam1"),
        unknown.err());
    assertTrue(unknown.err().contains("unknown pooling mode 'blur'"), unknown.err());
    Run big = deco("budget", "--stream", "cam1", "avg:32", "--patch-grid", "24", "--dry-run");
    assertEquals(1, big.status());
    assertTrue(big.err().contains("larger than the vision tower's 24x24 patch grid"), big.err());
    Run unparsable = deco("budget", "--stream", "cam1", "avg:8y8", "--dry-run");
    assertEquals(1, unparsable.status());
    assertTrue(unparsable.err().contains("bad grid"), unparsable.err());
    Run both = deco("budget", "--stream", "cam1", "avg:8", "--frames", "4", "--dry-run");
    assertEquals(1, both.status());
    assertTrue(both.err().contains("not both"), both.err());
    Run noContext = deco("budget", "--stream", "cam1", "--frames", "4", "--dry-run");
    assertEquals(1, noContext.status());
    assertTrue(
        noContext.err().contains("--frames needs --model DIR or --context N"), noContext.err());
    Run empty = deco("budget", "--stream", "", "avg:8", "--dry-run");
    assertEquals(1, empty.status());
    assertTrue(empty.err().contains("empty stream id"), empty.err());
    Run good = deco("budget", "--stream", "cam1", "avg:8", "--dry-run");
    assertEquals(0, good.status(), good.err());
    assertTrue(
        good.out().contains("budget for cam1: avg:8x8 (64 tokens per frame), not sent"),
        good.out());
  }
}
