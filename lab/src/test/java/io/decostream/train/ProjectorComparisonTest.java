package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.safetensors.DType;
import io.decostream.nn.tiny.TinyPack;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProjectorComparisonTest {

  /** 42 px frames in 7 px patches: a 6x6 grid, so pooling to the 3x3 position grid has stride 2. */
  static TinyPack.Spec spec() {
    return new TinyPack.Spec(
        42, 7, 16, 32, 2, 2, 32, 64, 2, 4, 2, 256, 10000.0, -1, 2, DType.F32, 0.2);
  }

  static ProjectorComparison.Settings settings(Path base, Path out, List<String> variants) {
    return new ProjectorComparison.Settings(
        base,
        out,
        variants,
        List.of(1L),
        2,
        3,
        2,
        2,
        1e-3,
        1e-3,
        0.15,
        "describe the video.",
        3,
        77,
        1);
  }

  @Test
  void everyVariantTrainsBothStagesAnswersTheHeldOutSetAndIsReusedOnceDone(@TempDir Path dir)
      throws Exception {
    Path base = dir.resolve("base");
    TinyPack.write(base, spec(), 3);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8);
    List<String> variants = ComparisonVariants.names();
    List<ProjectorComparison.RunResult> runs =
        new ProjectorComparison(settings(base, dir.resolve("cmp"), variants), ps).run();
    assertEquals(variants.size(), runs.size());
    for (ProjectorComparison.RunResult r : runs) {
      // 2 align + 3 tune steps, every one logged, steps counted across the stages
      assertEquals(5, r.curve().size(), r.variant());
      assertEquals(5.0, r.curve().get(4)[0]);
      int asked = r.asked().values().stream().mapToInt(Integer::intValue).sum();
      int correct = r.correct().values().stream().mapToInt(Integer::intValue).sum();
      assertTrue(
          asked >= 3 * 4 && asked <= 3 * 6, "3 scenes, one question per askable type: " + asked);
      assertTrue(correct >= 0 && correct <= asked);
      assertTrue(r.tunedParameters() > r.connectorParameters(), "stage 2 adds the LLM");
      assertTrue(
          Files.isRegularFile(
              dir.resolve("cmp").resolve(r.variant() + "-s1").resolve("result.json")));
      assertTrue(r.secondsPerStep() > 0);
    }
    ProjectorComparison.RunResult linear = runs.get(variants.indexOf("linear-576"));
    ProjectorComparison.RunResult avg = runs.get(variants.indexOf("avgpool-144"));
    assertEquals(36, linear.tokensPerFrame());
    assertEquals(9, avg.tokensPerFrame());
    assertEquals(576, linear.paperTokensPerFrame());
    // the pooled variants' connector is the MLP Dv -> Dt -> Dt: 16*32+32 + 32*32+32
    assertEquals(16 * 32 + 32 + 32 * 32 + 32, avg.connectorParameters());
    // a second run over the same directory reuses every finished result
    log.reset();
    List<ProjectorComparison.RunResult> again =
        new ProjectorComparison(settings(base, dir.resolve("cmp"), List.of("avgpool-144")), ps)
            .run();
    assertTrue(
        log.toString(StandardCharsets.UTF_8).contains("already done"),
        log.toString(StandardCharsets.UTF_8));
    assertEquals(avg.correct(), again.get(0).correct());
    assertEquals(avg.curve().size(), again.get(0).curve().size());
  }

  @Test
  void unknownVariantsAndBadSettingsAreRefusedUpFront(@TempDir Path dir) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> settings(dir, dir, List.of("resampler")));
    assertTrue(e.getMessage().contains("avgpool-144"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new ProjectorComparison.Settings(
                dir,
                dir,
                List.of("avgpool-144"),
                List.of(1L),
                1,
                1,
                1,
                17,
                1e-3,
                1e-3,
                0.1,
                "x",
                1,
                1,
                1));
  }
}
