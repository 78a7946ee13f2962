package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.tiny.TinyPack;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {

  /** Solid frames of one of two colours; the target names the colour. */
  static final ExampleSource COLOURS =
      (rng, frames) -> {
        boolean red = rng.nextBoolean();
        return new Example(
            red
                ? TrainingForwardTest.solid(frames, 220, 30, 30)
                : TrainingForwardTest.solid(frames, 40, 80, 220),
            "what color is the circle ?",
            red ? "red" : "blue",
            "color");
      };

  static TrainConfig config(Path out, int steps, int checkpointEvery) {
    return new TrainConfig(
        out, steps, 2, TrainConfig.frameRange(1, 3), 3e-3, 2, 0.01, 1.0, 11, 2, checkpointEvery);
  }

  @Test
  void clearingAGradientRemovesNaNs() {
    try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
      ai.djl.ndarray.NDArray g = m.create(new float[] {Float.NaN, Float.POSITIVE_INFINITY, 2f});
      AdamW.clear(g);
      assertArrayEquals(new float[] {0f, 0f, 0f}, g.toFloatArray());
    }
  }

  @Test
  void resumingFromACheckpointGivesTheSameWeightsAsAnUninterruptedRun(@TempDir Path dir)
      throws Exception {
    Path init = dir.resolve("init");
    TinyPack.write(init, TrainingForwardTest.spec(), 3);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8);
    new Trainer(config(dir.resolve("straight"), 6, 0), COLOURS, ps).run(init);
    // a 6-step run that checkpoints at step 3; its checkpoint is what a crashed run leaves behind
    new Trainer(config(dir.resolve("ck"), 6, 3), COLOURS, ps).run(init);
    assertTrue(Files.isRegularFile(dir.resolve("ck/checkpoint-3/trainer_state.json")));
    // a run directory holding only that checkpoint resumes from it
    Path run2 = dir.resolve("run2");
    Files.createDirectories(run2);
    try (var files = Files.list(dir.resolve("ck/checkpoint-3"))) {
      Files.createDirectories(run2.resolve("checkpoint-3"));
      for (Path f : files.toList()) {
        Files.copy(f, run2.resolve("checkpoint-3").resolve(f.getFileName()));
      }
    }
    new Trainer(config(run2, 6, 0), COLOURS, ps).run(init);
    String out = log.toString(StandardCharsets.UTF_8);
    assertTrue(
        out.contains("resuming from") && out.contains("step 6/6") && out.contains("ETA"), out);
    try (SafeTensors a = SafeTensors.open(dir.resolve("straight/final/model.safetensors"));
        SafeTensors b = SafeTensors.open(run2.resolve("final/model.safetensors"))) {
      assertEquals(a.names(), b.names());
      for (String n : a.names()) {
        assertArrayEquals(a.readFloats(n), b.readFloats(n), 1e-6f, n);
      }
    }
    assertTrue(Files.readAllLines(dir.resolve("straight/log.jsonl")).size() >= 3);
  }

  @Test
  void freezingTheVisionTowerTrainsOnlyTheProjectorAndTheLlm(@TempDir Path dir) throws Exception {
    Path init = dir.resolve("init");
    TinyPack.write(init, TrainingForwardTest.spec(), 3);
    TrainConfig frozen =
        new TrainConfig(
            dir.resolve("frozen"),
            3,
            2,
            java.util.List.of(1, 2, 2),
            3e-3,
            1,
            0.01,
            1.0,
            11,
            1,
            0,
            true);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    new Trainer(frozen, COLOURS, new PrintStream(log, true, StandardCharsets.UTF_8)).run(init);
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("(vision tower frozen)"));
    try (SafeTensors a = SafeTensors.open(init.resolve("model.safetensors"));
        SafeTensors b = SafeTensors.open(dir.resolve("frozen/final/model.safetensors"))) {
      for (String n : a.names()) {
        boolean same = java.util.Arrays.equals(a.readFloats(n), b.readFloats(n));
        if (n.startsWith("vision_tower")) {
          assertTrue(same, n + " must stay as it was");
        } else if (n.startsWith("multi_modal_projector") && n.endsWith("weight")) {
          assertTrue(!same, n + " must train");
        }
      }
    }
  }

  @Test
  void frameChoicesAreValidated() {
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class,
        () -> new TrainConfig(Path.of("x"), 1, 1, java.util.List.of(), 1e-3, 0, 0, 1, 1, 1, 0));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class,
        () -> new TrainConfig(Path.of("x"), 1, 1, java.util.List.of(2, 0), 1e-3, 0, 0, 1, 1, 1, 0));
    assertEquals(java.util.List.of(2, 3, 4), TrainConfig.frameRange(2, 4));
  }
}
