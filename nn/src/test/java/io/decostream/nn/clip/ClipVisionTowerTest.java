package io.decostream.nn.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.WeightException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Golden test against plain PyTorch (golden/clip_tower/make_fixture.py), spec §1.3 / §8. */
class ClipVisionTowerTest {

  static Path golden(String rel) throws Exception {
    return Path.of(ClipVisionTowerTest.class.getResource("/golden/clip_tower/" + rel).toURI());
  }

  static ClipVisionConfig config(SafeTensors st) throws Exception {
    ClipVisionConfig c =
        new ObjectMapper().readValue(st.metadata().get("config"), ClipVisionConfig.class);
    return c.resolved();
  }

  /** max |a - b| / max |b| (spec §8 relative rule). */
  static double rel(float[] got, float[] ref) {
    assertEquals(ref.length, got.length);
    double diff = 0;
    double max = 0;
    for (int i = 0; i < ref.length; i++) {
      diff = Math.max(diff, Math.abs(got[i] - ref[i]));
      max = Math.max(max, Math.abs(ref[i]));
    }
    return diff / Math.max(1e-30, max);
  }

  @Test
  void everyHiddenStateMatchesTorch() throws Exception {
    try (SafeTensors exp = SafeTensors.open(golden("expected.safetensors"));
        NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(golden("weights.safetensors"), m);
        ClipVisionTower tower = new ClipVisionTower(w.scoped("vision_model."), config(exp))) {
      // strict loading: the whole tower (all layers, post_layernorm) is bound
      w.scoped("vision_model.").assertAllUsed();
      ClipVisionConfig c = tower.config();
      assertEquals(4, c.gridSize());
      NDArray px = exp.toNDArray(m, "pixels");
      int layers = c.numHiddenLayers();
      for (int idx = 0; idx <= layers; idx++) {
        NDArray hs = tower.forward(px, idx, false);
        assertEquals(new Shape(2, 17, 32), hs.getShape());
        double r = rel(hs.toFloatArray(), exp.readFloats("hs_" + idx));
        assertTrue(r <= 1e-5, "hs[" + idx + "] relative error " + r);
        assertEquals(m, hs.getManager(), "result belongs to the caller's manager");
      }
      assertEquals(m, px.getManager(), "pixels are handed back to their manager");
    }
  }

  @Test
  void llavaFeatureDropsClsAndSkipsTheLastLayer() throws Exception {
    try (SafeTensors exp = SafeTensors.open(golden("expected.safetensors"));
        NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(golden("weights.safetensors"), m);
        ClipVisionTower tower = new ClipVisionTower(w.scoped("vision_model"), config(exp))) {
      int layers = tower.config().numHiddenLayers();
      assertEquals(layers - 1, ClipVisionTower.hiddenStateIndex(-2, layers));
      assertEquals(layers - 1, tower.defaultHiddenStateIndex());
      assertEquals(16, tower.tokensPerImage());
      float[] ref = exp.readFloats("hs_" + (layers - 1)); // [2,17,32]
      float[] px = exp.readFloats("pixels");
      int per = 3 * 28 * 28;
      List<float[]> images = new ArrayList<>();
      images.add(Arrays.copyOfRange(px, 0, per));
      images.add(Arrays.copyOfRange(px, per, 2 * per));
      List<float[]> feats = tower.features(images);
      assertEquals(2, feats.size());
      for (int b = 0; b < 2; b++) {
        // CLS (token 0) dropped: tokens 1..16 of the reference
        float[] want = Arrays.copyOfRange(ref, b * 17 * 32 + 32, (b + 1) * 17 * 32);
        double r = rel(feats.get(b), want);
        assertTrue(r <= 1e-4, "image " + b + " relative error " + r);
      }
      NDArray f = tower.forward(exp.toNDArray(m, "pixels"), layers - 1, true);
      assertEquals(new Shape(2, 16, 32), f.getShape());
      assertThrows(
          IllegalArgumentException.class,
          () -> tower.forward(m.zeros(new Shape(1, 3, 27, 28)), 1, true));
      assertThrows(
          IllegalArgumentException.class,
          () -> tower.forward(m.zeros(new Shape(1, 3, 28, 28)), layers + 1, true));
      assertThrows(IllegalArgumentException.class, () -> tower.features(List.of(new float[5])));
    }
  }

  @Test
  void aConfigThatDoesNotMatchTheCheckpointFailsNamingTheWeight() throws Exception {
    try (SafeTensors exp = SafeTensors.open(golden("expected.safetensors"));
        NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(golden("weights.safetensors"), m)) {
      ClipVisionConfig c = config(exp);
      ClipVisionConfig wrong =
          new ClipVisionConfig(
              c.modelType(),
              c.hiddenSize(),
              48,
              c.numHiddenLayers(),
              c.numAttentionHeads(),
              c.numChannels(),
              c.imageSize(),
              c.patchSize(),
              c.hiddenAct(),
              c.layerNormEps(),
              null);
      WeightException e =
          assertThrows(
              WeightException.class, () -> new ClipVisionTower(w.scoped("vision_model."), wrong));
      assertTrue(
          e.getMessage().contains("vision_model.encoder.layers.0.mlp.fc1.weight"), e.getMessage());
      ClipVisionConfig moreLayers =
          new ClipVisionConfig(
              c.modelType(),
              c.hiddenSize(),
              c.intermediateSize(),
              4,
              c.numAttentionHeads(),
              c.numChannels(),
              c.imageSize(),
              c.patchSize(),
              c.hiddenAct(),
              c.layerNormEps(),
              null);
      WeightException e2 =
          assertThrows(
              WeightException.class,
              () -> new ClipVisionTower(w.scoped("vision_model."), moreLayers));
      assertTrue(e2.getMessage().contains("encoder.layers.3."), e2.getMessage());
    }
  }
}
