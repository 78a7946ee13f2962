package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.tiny.TinyPack;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProjectorComparisonTest {

  @Test
  void aShortWindowIsPaddedWithItsFirstFrameAtTheStart() {
    io.decostream.nn.image.RgbImage a = new io.decostream.nn.image.RgbImage(1, 1, new byte[3]);
    io.decostream.nn.image.RgbImage b = new io.decostream.nn.image.RgbImage(1, 1, new byte[3]);
    assertEquals(List.of(a, a, a, b), ProjectorComparison.padFront(List.of(a, b), 4));
    assertEquals(List.of(a, b), ProjectorComparison.padFront(List.of(a, b), 0));
    assertEquals(List.of(a, b), ProjectorComparison.padFront(List.of(a, b), 2));
  }

  /** 42 px frames in 7 px patches: a 6x6 grid, so pooling to the 3x3 position grid has stride 2. */
  static TinyPack.Spec spec() {
    return new TinyPack.Spec(
        42, 7, 16, 32, 2, 2, 32, 64, 2, 4, 2, 256, 10000.0, -1, 2, DType.F32, 0.2);
  }

  static ProjectorComparison.Settings settings(Path base, Path out, List<String> variants) {
    return settings(base, out, variants, 3, 0);
  }

  static ProjectorComparison.Settings settings(
      Path base, Path out, List<String> variants, int tuneSteps, int checkEvery) {
    return new ProjectorComparison.Settings(
        base,
        out,
        variants,
        List.of(1L),
        2,
        tuneSteps,
        2,
        2,
        1e-3,
        1e-3,
        0.15,
        "describe the video.",
        3,
        77,
        1,
        checkEvery,
        1);
  }

  /** Dv = 16, Dt = 32 (spec() above); the MLP Dv -> Dt -> Dt of the pooled variants. */
  static final long MLP = 16 * 32 + 32 + 32 * 32 + 32;

  /**
   * 2-layer Q-Former at hidden = Dv = 16, FFN 64, cross-attention in both layers: ln_vision and the
   * final layernorm (2 x 32), per layer self- and cross-attention (4 x (16x16 + 16) + LayerNorm 32,
   * twice) and the query FFN (64x16 + 64 + 16x64 + 16 + LayerNorm 32), plus 16 per learned query.
   */
  static long qformer(int queries) {
    long attention = 4 * (16 * 16 + 16) + 2 * 16;
    long ffn = 64 * 16 + 64 + 16 * 64 + 16 + 2 * 16;
    return 2 * 16 + 2 * 16 + 16L * queries + 2 * (2 * attention + ffn);
  }

  /**
   * C-Abstractor, depth 3, hidden = Dv = 16 on the 6x6 patch grid: position embedding 36 x 16; two
   * stages of 3 bottleneck blocks 16 -> 16 (1x1 conv + BN, depthwise 3x3 + BN, SE with 4 channels,
   * 1x1 conv + BN; no downsample); SiLU readout 16 -> 32 -> 32.
   */
  static final long CABSTRACTOR =
      36 * 16
          + 6 * ((16 * 16 + 32) + (16 * 9 + 32) + (4 * 16 + 4) + (16 * 4 + 16) + (16 * 16 + 32))
          + (32 * 16 + 32 + 32 * 32 + 32);

  /**
   * The tiny pack's Llama: embeddings and LM head (V x 32 each, untied), per layer q and o (32x32),
   * k and v (32 x 2 kv heads x 8), the SwiGLU MLP (3 x 32x64) and two RMSNorms, plus the final
   * norm.
   */
  static long llama(int vocab) {
    long layer = 2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 64 + 2 * 32;
    return 2L * vocab * 32 + 2 * layer + 32;
  }

  /**
   * Questions per type of the held-out set (3 scenes of eval seed 77, 2-frame windows, one question
   * per askable type): fixed by ShapesWorld alone.
   */
  static final Map<String, Integer> ASKED =
      orderedMap("color", 2, "shape", 3, "count", 3, "position", 3, "motion", 3, "yesno", 3);

  static Map<String, Integer> orderedMap(Object... kv) {
    Map<String, Integer> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], (Integer) kv[i + 1]);
    }
    return m;
  }

  @Test
  void timePerStepIsTheMedianIntervalSoAPauseDoesNotMoveIt() {
    // nine clean 25-step intervals at 0.4 s a step and one that held a 10-minute pause
    List<Double> intervals = new java.util.ArrayList<>(java.util.Collections.nCopies(9, 0.4));
    intervals.add(24.4);
    assertEquals(0.4, ProjectorComparison.median(intervals), 1e-12);
    assertEquals(2.5, ProjectorComparison.median(List.of(4.0, 1.0, 3.0, 2.0)), 1e-12);
    assertEquals(2.0, ProjectorComparison.median(List.of(3.0, 1.0, 2.0)), 1e-12);
  }

  @Test
  void everyVariantTrainsBothStagesAnswersTheHeldOutSetAndIsReusedOnceDone(@TempDir Path dir)
      throws Exception {
    Path base = dir.resolve("base");
    TinyPack.write(base, spec(), 3);
    int vocab = LlavaNextVideoConfig.read(base).textConfig().vocabSize();
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8);
    List<String> variants = ComparisonVariants.names();
    assertEquals(
        List.of(
            "linear-576",
            "avgpool-144",
            "maxpool-144",
            "qformer-144",
            "qformer-64",
            "cabstractor-144"),
        variants);
    List<ProjectorComparison.RunResult> runs =
        new ProjectorComparison(settings(base, dir.resolve("cmp"), variants), ps).run();
    assertEquals(variants.size(), runs.size());
    // per variant: rows per frame in the miniature (6x6 patches; pooled to the 3x3 grid; learned
    // queries), at paper scale, and the connector's trainable scalars by formula
    Map<String, long[]> want = new LinkedHashMap<>();
    want.put("linear-576", new long[] {36, 576, MLP});
    want.put("avgpool-144", new long[] {9, 144, MLP});
    want.put("maxpool-144", new long[] {9, 144, MLP});
    want.put("qformer-144", new long[] {9, 144, qformer(9) + MLP});
    want.put("qformer-64", new long[] {4, 64, qformer(4) + MLP});
    want.put("cabstractor-144", new long[] {9, 144, CABSTRACTOR});
    String report = ComparisonReport.markdown(runs);
    for (ProjectorComparison.RunResult r : runs) {
      String v = r.variant();
      long[] w = want.get(v);
      assertEquals(w[0], r.tokensPerFrame(), v);
      assertEquals(w[1], r.paperTokensPerFrame(), v);
      assertEquals(w[2], r.connectorParameters(), v + " connector parameters");
      assertEquals(
          w[2] + llama(vocab), r.tunedParameters(), v + ": stage 2 trains the connector + the LLM");
      assertEquals(1L, r.seed());
      // the held-out set is the same for every variant; the random tiny pack, barely trained,
      // answers none of it exactly (an evaluation that counted wrong answers as right would show)
      assertEquals(ASKED, r.asked(), v);
      assertEquals(ASKED.keySet(), r.correct().keySet(), v);
      r.correct().values().forEach(c -> assertEquals(0, c, v + " " + r.correct()));
      assertEquals(0.0, r.overall(), v);
      // 2 align + 3 tune steps, every one logged, steps counted across the stages
      assertEquals(5, r.curve().size(), v);
      for (int i = 0; i < 5; i++) {
        assertEquals(i + 1.0, r.curve().get(i)[0], v);
        double loss = r.curve().get(i)[1];
        // next-token cross-entropy of an untrained LM starts near ln(vocab) = 5.66
        assertTrue(loss > 3 && loss < 8, v + " step " + (i + 1) + " loss " + loss);
      }
      // the align stage learns: its second step's loss is below its first
      assertTrue(
          r.curve().get(1)[1] < r.curve().get(0)[1],
          v + " align loss " + r.curve().get(0)[1] + " -> " + r.curve().get(1)[1]);
      assertTrue(r.secondsPerStep() > 0);
      // the run's files: a log line per step with its stage, and the result as returned
      Path runDir = dir.resolve("cmp").resolve(v + "-s1");
      List<String> lines = Files.readAllLines(runDir.resolve("log.jsonl"));
      assertEquals(5, lines.size(), lines.toString());
      ObjectMapper json = new ObjectMapper();
      for (int i = 0; i < 5; i++) {
        JsonNode line = json.readTree(lines.get(i));
        assertEquals(i < 2 ? "align" : "tune", line.get("stage").asText(), lines.get(i));
        assertEquals(i + 1, line.get("step").asInt());
        assertEquals(r.curve().get(i)[1], line.get("ema_loss").asDouble(), 1e-9);
      }
      JsonNode saved = json.readTree(runDir.resolve("result.json").toFile());
      assertEquals(v, saved.get("variant").asText());
      assertEquals(r.connectorParameters(), saved.get("connectorParameters").asLong());
      assertEquals(r.tunedParameters(), saved.get("tunedParameters").asLong());
      // the report's row of the variant: tokens, paper tokens, frames that fit 4096 tokens at paper
      // and at miniature scale, parameters
      String row =
          String.format(
              Locale.ROOT,
              "| %s | %d | %d | %d | %d | %,d | %,d |",
              v,
              w[0],
              w[1],
              (4096 - 256) / w[1],
              (4096 - 256) / w[0],
              w[2],
              w[2] + llama(vocab));
      assertTrue(report.contains(row), row + "\n" + report);
    }
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("connector parameters"));
    ProjectorComparison.RunResult avg = runs.get(variants.indexOf("avgpool-144"));
    // a second run over the same directory reuses every finished result
    log.reset();
    List<ProjectorComparison.RunResult> again =
        new ProjectorComparison(settings(base, dir.resolve("cmp"), List.of("avgpool-144")), ps)
            .run();
    assertTrue(
        log.toString(StandardCharsets.UTF_8).contains("already done"),
        log.toString(StandardCharsets.UTF_8));
    assertEquals(avg.correct(), again.get(0).correct());
    assertEquals(avg.asked(), again.get(0).asked());
    assertEquals(avg.curve().size(), again.get(0).curve().size());
    for (int i = 0; i < avg.curve().size(); i++) {
      assertEquals(avg.curve().get(i)[1], again.get(0).curve().get(i)[1], 1e-12);
    }
    // and a fresh run of the same variant and seed repeats it exactly (same data, same init)
    List<ProjectorComparison.RunResult> fresh =
        new ProjectorComparison(settings(base, dir.resolve("fresh"), List.of("avgpool-144")), ps)
            .run();
    for (int i = 0; i < avg.curve().size(); i++) {
      assertEquals(avg.curve().get(i)[1], fresh.get(0).curve().get(i)[1], 1e-6, "step " + (i + 1));
    }
  }

  @Test
  void aRunInterruptedInStageTwoResumesFromItsLastCheckAndEndsAsAnUninterruptedOne(
      @TempDir Path dir) throws Exception {
    Path base = dir.resolve("base");
    TinyPack.write(base, spec(), 3);
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    List<String> v = List.of("avgpool-144");
    // 2 align + 4 tune steps, a check (and checkpoint) every 2 tune steps
    ProjectorComparison.RunResult whole =
        new ProjectorComparison(settings(base, dir.resolve("whole"), v, 4, 2), quiet).run().get(0);
    // checks at tune steps 2 and 4, counted after the 2 align steps, on the one check scene
    assertEquals(2, whole.accuracyCurve().size());
    assertEquals(4.0, whole.accuracyCurve().get(0)[0]);
    assertEquals(6.0, whole.accuracyCurve().get(1)[0]);
    for (double[] p : whole.accuracyCurve()) {
      assertEquals(4, p.length);
      assertTrue(p[1] >= 0 && p[1] <= 1 && p[2] >= 0 && p[2] <= 1, java.util.Arrays.toString(p));
    }
    Path wholeRun = dir.resolve("whole").resolve("avgpool-144-s1");
    assertTrue(Files.isRegularFile(wholeRun.resolve("result.json")));
    assertTrue(
        Files.list(wholeRun).noneMatch(p -> p.getFileName().toString().startsWith("resume-")),
        "a finished run keeps no checkpoint");

    // the same run, killed right after its first check
    Path cut = dir.resolve("cut");
    RuntimeException killed =
        assertThrows(
            RuntimeException.class,
            () ->
                new ProjectorComparison(settings(base, cut, v, 4, 2), quiet)
                    .afterCheck(
                        step -> {
                          throw new RuntimeException("killed after tune step " + step);
                        })
                    .run());
    assertEquals("killed after tune step 2", killed.getMessage());
    Path cutRun = cut.resolve("avgpool-144-s1");
    assertTrue(Files.isRegularFile(cutRun.resolve("resume-2").resolve(RunCheckpoint.STATE)));
    assertTrue(Files.notExists(cutRun.resolve("result.json")));

    // resumed: it says so, skips stage 1 and ends where the uninterrupted run ended
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    ProjectorComparison.RunResult resumed =
        new ProjectorComparison(
                settings(base, cut, v, 4, 2), new PrintStream(log, true, StandardCharsets.UTF_8))
            .run()
            .get(0);
    String out = log.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("resuming stage 2 after step 2/4"), out);
    assertTrue(!out.contains("align ["), out);
    assertEquals(whole.curve().size(), resumed.curve().size());
    for (int i = 0; i < whole.curve().size(); i++) {
      assertEquals(whole.curve().get(i)[0], resumed.curve().get(i)[0]);
      assertEquals(whole.curve().get(i)[1], resumed.curve().get(i)[1], 1e-5, "curve point " + i);
    }
    for (int i = 0; i < 2; i++) {
      assertArrayEquals(whole.accuracyCurve().get(i), resumed.accuracyCurve().get(i), 1e-12);
    }
    assertEquals(whole.correct(), resumed.correct());
    assertEquals(whole.asked(), resumed.asked());
    assertTrue(
        Files.list(cutRun).noneMatch(p -> p.getFileName().toString().startsWith("resume-")),
        "the checkpoint is removed once the run has its result");
    // a checkpoint of other settings (here another tune budget) is not resumed
    Path other = dir.resolve("other");
    assertThrows(
        RuntimeException.class,
        () ->
            new ProjectorComparison(settings(base, other, v, 4, 2), quiet)
                .afterCheck(
                    step -> {
                      throw new RuntimeException("killed");
                    })
                .run());
    log.reset();
    new ProjectorComparison(
            settings(base, other, v, 6, 2), new PrintStream(log, true, StandardCharsets.UTF_8))
        .run();
    assertTrue(!log.toString(StandardCharsets.UTF_8).contains("resuming"), log.toString());
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
                1,
                0,
                1));
  }
}
