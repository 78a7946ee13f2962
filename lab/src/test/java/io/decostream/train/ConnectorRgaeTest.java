package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.shapes.Box;
import io.decostream.shapes.GroundingCheck;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 23 point 2: runs keep their weights, and the R-GAE analysis reads them back (tiny pack, a
 * few steps).
 */
class ConnectorRgaeTest {

  @Test
  void runsSaveWeightsThatLoadBackAndTheAnalysisMeasuresLocality(@TempDir Path dir)
      throws Exception {
    Path base = dir.resolve("base");
    TinyPack.write(base, ProjectorComparisonTest.spec(), 3);
    Path out = dir.resolve("cmp");
    List<String> variants = List.of("qformer-144", "avgpool-144");
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    new ProjectorComparison(ProjectorComparisonTest.settings(base, out, variants), quiet).run();
    Path run = out.resolve("qformer-144-s1");
    assertTrue(RunWeights.saved(run));

    // round trip: a fresh connector + the base LLM take exactly the saved (trained) values
    try (TrainablePack pack = TrainablePack.open(base);
        NDManager m = pack.manager().newSubManager()) {
      Connector c = ComparisonVariants.get("qformer-144").build(m, pack.config(), 1);
      float[] fresh = c.parameters().get("qformer.query_tokens").toFloatArray();
      Map<String, NDArray> llm = pack.languageModelParameters();
      String anyLlm = llm.keySet().iterator().next();
      float[] baseLlm = llm.get(anyLlm).toFloatArray();
      RunWeights.load(run, c.parameters(), llm);
      try (var st =
              io.decostream.nn.safetensors.SafeTensors.open(run.resolve(RunWeights.CONNECTOR));
          var sl = io.decostream.nn.safetensors.SafeTensors.open(run.resolve(RunWeights.LLM))) {
        float[] saved = st.readFloats("qformer.query_tokens");
        assertArrayEquals(saved, c.parameters().get("qformer.query_tokens").toFloatArray());
        assertFalse(Arrays.equals(fresh, saved), "training moved the learned queries");
        assertArrayEquals(sl.readFloats(anyLlm), llm.get(anyLlm).toFloatArray());
        assertFalse(Arrays.equals(baseLlm, sl.readFloats(anyLlm)), "stage 2 tuned the LLM");
      }
    }

    // a run that finished before runs saved weights is reported, not retrained or analysed
    Path old = out.resolve("avgpool-144-s1");
    Files.delete(old.resolve(RunWeights.LLM));
    ByteArrayOutputStream again = new ByteArrayOutputStream();
    new ProjectorComparison(
            ProjectorComparisonTest.settings(base, out, variants),
            new PrintStream(again, true, StandardCharsets.UTF_8))
        .run();
    assertTrue(
        again.toString(StandardCharsets.UTF_8).contains("avgpool-144 seed 1: already done")
            && again.toString(StandardCharsets.UTF_8).contains("no saved weights"),
        again.toString(StandardCharsets.UTF_8));
    assertFalse(RunWeights.saved(old), "resuming does not retrain a finished run");
    assertThrows(
        IllegalArgumentException.class,
        () -> RunWeights.load(old, Map.of(), Map.of()),
        "no weights");
    List<ConnectorRgae.Run> runs =
        ConnectorRgae.analyse(base, out, variants, List.of(1L), 2, 3, 77, 2, quiet);
    ConnectorRgae.Run qf = runs.get(0);
    assertEquals("", qf.note());
    assertTrue(qf.questions() > 0, "the held-out set has questions naming one object");
    assertTrue(qf.locality() >= 0 && qf.locality() <= 1, "locality " + qf.locality());
    assertTrue(qf.chance() > 0 && qf.chance() < 1, "chance " + qf.chance());
    QueryToPatch map = qf.queryToPatch();
    assertEquals(9, map.queries());
    assertEquals(36, map.patches(), "6x6 patches");
    assertFalse(qf.examples().isEmpty());
    ConnectorRgae.Run pooled = runs.get(1);
    assertEquals("finished before runs saved their weights", pooled.note());
    assertTrue(Double.isNaN(pooled.locality()));
    assertNotEquals(0, qf.examples().get(0).textToPatch().length);

    // the analysis is kept beside the run: with the weights gone it is read back, figure for figure
    assertTrue(Files.isRegularFile(run.resolve(RgaeCache.FILE)));
    Files.delete(run.resolve(RunWeights.LLM));
    Files.delete(run.resolve(RunWeights.CONNECTOR));
    ConnectorRgae.Run kept =
        ConnectorRgae.analyse(base, out, variants, List.of(1L), 2, 3, 77, 2, quiet).get(0);
    assertEquals("", kept.note());
    assertEquals(qf.questions(), kept.questions());
    assertEquals(qf.locality(), kept.locality());
    assertEquals(qf.chance(), kept.chance());
    assertArrayEquals(qf.queryToPatch().matrix(), kept.queryToPatch().matrix());
    assertEquals(qf.examples().size(), kept.examples().size());
    for (int k = 0; k < qf.examples().size(); k++) {
      ConnectorRgae.Answer a = qf.examples().get(k);
      ConnectorRgae.Answer b = kept.examples().get(k);
      assertEquals(a.scene(), b.scene());
      assertEquals(a.question(), b.question());
      assertEquals(a.answer(), b.answer());
      assertArrayEquals(a.textToPatch(), b.textToPatch());
      assertEquals(a.box(), b.box());
      assertEquals(a.share(), b.share());
      // the frame is drawn again from its held-out scene, pixel for pixel
      assertArrayEquals(a.frame().rgb(), b.frame().rgb());
    }
    // kept figures made with other settings are not used, and without weights nothing is analysed
    ConnectorRgae.Run other =
        ConnectorRgae.analyse(base, out, variants, List.of(1L), 2, 4, 77, 2, quiet).get(0);
    assertEquals("finished before runs saved their weights", other.note());
  }

  @Test
  void anIdentityMapIsKeptAsSuchAndOthersExactly(@TempDir Path dir) {
    RgaeCache.Settings settings = new RgaeCache.Settings(2, 3, 77, 0);
    QueryToPatch avg = QueryToPatch.adaptiveAvg(6, 6, 3, 3);
    for (QueryToPatch m : List.of(QueryToPatch.identity(36), avg)) {
      ConnectorRgae.Run r = new ConnectorRgae.Run("v", 2, 6, 5, 0.25, 0.125, m, List.of(), "");
      RgaeCache.save(dir, r, settings);
      ConnectorRgae.Run back = RgaeCache.load(dir, "v", 2, settings).orElseThrow();
      assertArrayEquals(m.matrix(), back.queryToPatch().matrix());
      assertEquals(0.25, back.locality());
      assertTrue(RgaeCache.load(dir, "v", 3, settings).isEmpty(), "another seed's file");
    }
  }

  /** The locality figure: a map inside the box scores 1, a uniform map the box's patch share. */
  @Test
  void localityOfAConcentratedMapIsOneAndOfAUniformMapTheBoxShare() {
    // 6x6 patches of 7 px on a 42 px frame; a box over patches (1..2, 1..2) once grown by a patch
    GroundingCheck check = new GroundingCheck(new Box(14, 14, 14, 14), 42, 42, 6, 6);
    boolean[] in = check.patchesInside();
    float[] inside = new float[36];
    float[] uniform = new float[36];
    int count = 0;
    for (int p = 0; p < 36; p++) {
      inside[p] = in[p] ? 0.3f + p : 0f;
      uniform[p] = 1f;
      count += in[p] ? 1 : 0;
    }
    assertEquals(4, count, "the grown box holds the centres of 2x2 patches");
    assertEquals(1.0, check.shareInside(inside), 1e-12);
    assertEquals(count / 36.0, check.shareInside(uniform), 1e-12);
  }

  /** §7.6 maps of the connectors without attention. */
  @Test
  void staticMapsAreIdentityAndPoolingWindows() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray feats = m.randomNormal(new ai.djl.ndarray.types.Shape(2, 36, 4));
      assertArrayEquals(
          QueryToPatch.identity(36).matrix(),
          ConnectorRgae.staticMap("linear-576", feats, 1, 6, 36).matrix());
      assertArrayEquals(
          QueryToPatch.adaptiveAvg(6, 6, 3, 3).matrix(),
          ConnectorRgae.staticMap("cabstractor-144", feats, 1, 6, 9).matrix());
      QueryToPatch max = ConnectorRgae.staticMap("maxpool-144", feats, 1, 6, 9);
      for (int j = 0; j < 9; j++) {
        double row = 0;
        for (int p = 0; p < 36; p++) {
          row += max.get(j, p);
        }
        assertEquals(1.0, row, 1e-5, "channel fractions of window " + j);
      }
    }
  }
}
