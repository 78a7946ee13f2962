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
}
