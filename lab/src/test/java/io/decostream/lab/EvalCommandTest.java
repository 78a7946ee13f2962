package io.decostream.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class EvalCommandTest {

  @Test
  void theMarkdownNamesTheCommandThatReproducesItWithTheDefaultsSpelledOut() {
    EvalCommand withDefaults = new EvalCommand();
    new CommandLine(withDefaults)
        .parseArgs(
            "--model",
            "models/shapes-demo",
            "--grounding-check",
            "--markdown",
            "docs/shapes-eval.md");
    // the held-out set is fixed by its seed and size, so both are written even when left at their
    // defaults
    assertEquals(
        "./deco eval --model models/shapes-demo --videos 100 --seed 1000003 --grounding-check",
        withDefaults.reproduce());
    EvalCommand other = new EvalCommand();
    new CommandLine(other)
        .parseArgs("--model", "runs/v5/final", "--videos", "20", "--seed", "2000003");
    assertEquals("./deco eval --model runs/v5/final --videos 20 --seed 2000003", other.reproduce());
  }

  @Test
  void theWideSetIsNamedInTheCommandAndDrawsItsOwnClips() {
    EvalCommand wide = new EvalCommand();
    new CommandLine(wide).parseArgs("--model", "m", "--videos", "7", "--wide");
    assertEquals("./deco eval --model m --videos 7 --seed 1000003 --wide", wide.reproduce());
    for (int i = 0; i < 7; i++) {
      io.decostream.shapes.WideClips.Clip c = wide.clip(i);
      assertEquals(io.decostream.shapes.WideClips.clip(1000003, i), c);
    }
    EvalCommand plain = new EvalCommand();
    new CommandLine(plain).parseArgs("--model", "m");
    // the default set: 336x336, 8 fps, 16 s clips of the default world, as before
    io.decostream.shapes.WideClips.Clip c = plain.clip(3);
    assertEquals(io.decostream.shapes.VideoSpec.defaults(), c.spec());
    assertEquals(
        io.decostream.shapes.SceneGenerator.generate(
            io.decostream.shapes.ShapesWorld.videoSeed(1000003, 3), 16),
        c.scene());
  }
}
