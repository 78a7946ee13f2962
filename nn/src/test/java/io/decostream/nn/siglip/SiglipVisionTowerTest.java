package io.decostream.nn.siglip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.WeightException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Golden test against plain PyTorch (golden/siglip/make_fixture.py), spec §2 / §8. */
class SiglipVisionTowerTest {

  @TempDir Path tmp;

  static Path golden(String rel) throws Exception {
    return Path.of(SiglipVisionTowerTest.class.getResource("/golden/siglip/" + rel).toURI());
  }

  static SiglipVisionConfig config(SafeTensors st) throws Exception {
    return new ObjectMapper().readValue(st.metadata().get("config"), SiglipVisionConfig.class);
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
        SiglipVisionTower tower = new SiglipVisionTower(w.scoped("vision_model."), config(exp))) {
      // strict loading: all layers, post_layernorm and the MAP head are bound
      w.scoped("vision_model.").assertAllUsed();
      SiglipVisionConfig c = tower.config();
      assertEquals(
          4,
          c.gridSize()); // floor(30 / 7): the last 2 pixel rows/cols are dropped, as 384/14 drops 6
      assertEquals("gelu_pytorch_tanh", c.hiddenAct());
      assertEquals(1e-6, c.layerNormEps());
      NDArray px = exp.toNDArray(m, "pixels");
      int layers = c.numHiddenLayers();
      for (int idx = 0; idx <= layers; idx++) {
        NDArray hs = tower.forward(px, idx);
        assertEquals(new Shape(2, 16, 32), hs.getShape());
        double r = rel(hs.toFloatArray(), exp.readFloats("hs_" + idx));
        assertTrue(r <= 1e-5, "hs[" + idx + "] relative error " + r);
        assertEquals(m, hs.getManager(), "result belongs to the caller's manager");
      }
      assertEquals(m, px.getManager(), "pixels are handed back to their manager");
    }
  }

  @Test
  void oneVisionFeatureIsTheLastLayerBeforePostLayerNorm() throws Exception {
    try (SafeTensors exp = SafeTensors.open(golden("expected.safetensors"));
        NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(golden("weights.safetensors"), m);
        SiglipVisionTower tower = new SiglipVisionTower(w.scoped("vision_model"), config(exp))) {
      int layers = tower.config().numHiddenLayers();
      assertEquals(layers, SiglipVisionTower.hiddenStateIndex(-1, layers));
      assertEquals(layers - 1, SiglipVisionTower.hiddenStateIndex(-2, layers));
      assertEquals(layers, tower.defaultHiddenStateIndex());
      assertEquals(16, tower.tokensPerImage()); // strategy "full": every patch, no CLS
      float[] ref = exp.readFloats("hs_" + layers); // [2,16,32]
      float[] post = exp.readFloats("post_ln");
      float[] px = exp.readFloats("pixels");
      int per = 3 * 30 * 30;
      List<float[]> images = new ArrayList<>();
      images.add(Arrays.copyOfRange(px, 0, per));
      images.add(Arrays.copyOfRange(px, per, 2 * per));
      List<float[]> feats = tower.features(images);
      assertEquals(2, feats.size());
      for (int b = 0; b < 2; b++) {
        float[] want = Arrays.copyOfRange(ref, b * 16 * 32, (b + 1) * 16 * 32);
        double r = rel(feats.get(b), want);
        assertTrue(r <= 1e-4, "image " + b + " relative error " + r);
        // post_layernorm is not applied: the feature is far from post_layernorm(hs[-1])
        double rp = rel(feats.get(b), Arrays.copyOfRange(post, b * 16 * 32, (b + 1) * 16 * 32));
        assertTrue(rp > 1e-2, "feature looks post-layernormed: " + rp);
      }
      assertThrows(
          IllegalArgumentException.class, () -> tower.forward(m.zeros(new Shape(1, 3, 28, 30)), 1));
      assertThrows(
          IllegalArgumentException.class,
          () -> tower.forward(m.zeros(new Shape(1, 3, 30, 30)), layers + 1));
      assertThrows(IllegalArgumentException.class, () -> tower.features(List.of(new float[5])));
      assertThrows(
          IllegalArgumentException.class, () -> SiglipVisionTower.hiddenStateIndex(-5, layers));
    }
  }

  @Test
  void geluTanhIsTheFormulaOfSection2() {
    try (NDManager m = NDManager.newBaseManager()) {
      float[] xs = {-6f, -2.5f, -1f, -0.1f, 0f, 0.3f, 1f, 2f, 5f};
      float[] got = SiglipVisionTower.geluTanh(m.create(xs)).toFloatArray();
      for (int i = 0; i < xs.length; i++) {
        double x = xs[i];
        double want =
            0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
        assertEquals(want, got[i], 1e-6, "gelu_tanh(" + x + ")");
      }
    }
  }

  @Test
  void aConfigThatDoesNotMatchTheCheckpointFailsNamingTheWeight() throws Exception {
    try (SafeTensors exp = SafeTensors.open(golden("expected.safetensors"));
        NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(golden("weights.safetensors"), m)) {
      SiglipVisionConfig c = config(exp);
      SiglipVisionConfig wrong =
          new SiglipVisionConfig(
              c.modelType(),
              c.hiddenSize(),
              48,
              c.numHiddenLayers(),
              c.numAttentionHeads(),
              c.numChannels(),
              c.imageSize(),
              c.patchSize(),
              c.hiddenAct(),
              c.layerNormEps());
      WeightException e =
          assertThrows(
              WeightException.class, () -> new SiglipVisionTower(w.scoped("vision_model."), wrong));
      assertTrue(
          e.getMessage().contains("vision_model.encoder.layers.0.mlp.fc1.weight"), e.getMessage());
      SiglipVisionConfig moreLayers =
          new SiglipVisionConfig(
              c.modelType(),
              c.hiddenSize(),
              c.intermediateSize(),
              4,
              c.numAttentionHeads(),
              c.numChannels(),
              c.imageSize(),
              c.patchSize(),
              c.hiddenAct(),
              c.layerNormEps());
      WeightException e2 =
          assertThrows(
              WeightException.class,
              () -> new SiglipVisionTower(w.scoped("vision_model."), moreLayers));
      assertTrue(e2.getMessage().contains("encoder.layers.3."), e2.getMessage());
      // a different patch size changes the position count: 30/14 -> 4 positions, the checkpoint has
      // 16
      SiglipVisionConfig patch14 =
          new SiglipVisionConfig(
              c.modelType(),
              c.hiddenSize(),
              c.intermediateSize(),
              c.numHiddenLayers(),
              c.numAttentionHeads(),
              c.numChannels(),
              c.imageSize(),
              14,
              c.hiddenAct(),
              c.layerNormEps());
      assertThrows(
          WeightException.class, () -> new SiglipVisionTower(w.scoped("vision_model."), patch14));
    }
  }

  @Test
  void configBindsConfigJsonWithDefaultsAndValidates() throws Exception {
    Path f = tmp.resolve("config.json");
    // llava_onevision layout: the SigLIP config nested under vision_config, eps and act left to
    // defaults
    Files.writeString(
        f,
        "{\"model_type\":\"llava_onevision\",\"vision_config\":{\"model_type\":\"siglip_vision_model\","
            + "\"hidden_size\":1152,\"intermediate_size\":4304,\"num_hidden_layers\":26,\"num_attention_heads\":16,"
            + "\"image_size\":384,\"patch_size\":14,\"vision_use_head\":false}}");
    SiglipVisionConfig c = SiglipVisionConfig.fromConfigJson(tmp);
    assertEquals(SiglipVisionConfig.oneVisionSo400m(), c);
    assertEquals(27, c.gridSize());
    assertEquals(729, c.numPatches());
    assertEquals(72, c.headDim());
    assertEquals(1e-6, c.layerNormEps());
    assertEquals("gelu_pytorch_tanh", c.hiddenAct());
    assertThrows(
        IllegalArgumentException.class,
        () -> new SiglipVisionConfig(null, 30, 64, 2, 4, 3, 28, 7, null, null));
    assertThrows(
        IllegalArgumentException.class,
        () -> new SiglipVisionConfig(null, 32, 64, 2, 4, 3, 6, 7, null, null));
    assertEquals(
        4,
        new SiglipVisionConfig(null, 32, 64, 2, 4, 3, 30, 7, null, null)
            .gridSize()); // floor, like 384/14
    assertThrows(
        IllegalArgumentException.class,
        () -> new SiglipVisionConfig(null, 32, 64, 2, 4, 3, 28, 7, "relu", null));
    assertThrows(
        IllegalArgumentException.class,
        () -> new SiglipVisionConfig("clip_vision_model", 32, 64, 2, 4, 3, 28, 7, null, null));
    assertThrows(
        IllegalArgumentException.class,
        () -> new SiglipVisionConfig(null, 32, 64, 0, 4, 3, 28, 7, null, null));
  }
}
