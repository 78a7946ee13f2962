package io.decostream.nn.llava.families;

import static io.decostream.nn.llava.nextvideo.LlavaNextVideoGoldenTest.relErr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.llava.DebugForward;
import io.decostream.nn.llava.DebugForwardModel;
import io.decostream.nn.llava.llava15.LlavaConfig;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoGoldenTest;
import io.decostream.nn.llava.onevision.LlavaOnevisionConfig;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import io.decostream.nn.weights.WeightException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End-to-end goldens of the LLaVA-1.5 ({@code llava}: OLD key layout, F16 weights, CLIP +
 * mlp2x_gelu on all tokens + Llama) and LLaVA-OneVision ({@code llava_onevision}: NEW key layout,
 * SigLIP with a "valid" conv remainder, projector then bilinear 5→3 + image_newline, Qwen2 with
 * biases and tied head) families against the plain-PyTorch reference {@code
 * golden/llava_families/make_family_goldens.py}. Tolerance: max |java - ref| / max |ref| <= 1e-4
 * per tensor; greedy ids identical.
 */
class LlavaFamiliesGoldenTest {

  static Path golden(String name) throws Exception {
    return Path.of(
        LlavaFamiliesGoldenTest.class.getResource("/golden/llava_families/" + name).toURI());
  }

  /**
   * pixel_values [F,3,S,S] (llava images) or pixel_values_videos [1,F,3,S,S], and input_ids [1,T].
   */
  record Inputs(float[] pixels, int frames, int[] ids) {
    static Inputs read(Path dir) throws Exception {
      try (SafeTensors in = SafeTensors.open(dir.resolve("inputs.safetensors"))) {
        String px = in.contains("pixel_values") ? "pixel_values" : "pixel_values_videos";
        long[] ps = in.info(px).shape();
        int frames = (int) (ps.length == 4 ? ps[0] : ps[1]);
        return new Inputs(
            in.readFloats(px),
            frames,
            Arrays.stream(in.readLongs("input_ids")).mapToInt(Math::toIntExact).toArray());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llava_15", "llava_onevision"})
  void forwardDebugMatchesPyTorchReference(String pack) throws Exception {
    Path dir = golden(pack);
    Inputs in = Inputs.read(dir);
    try (DebugForwardModel model = Families.load(dir);
        SafeTensors exp = SafeTensors.open(dir.resolve("expected.safetensors"))) {
      int k = Integer.parseInt(exp.metadata().get("new_tokens"));
      DebugForward out = model.forwardDebug(in.pixels(), in.frames(), in.ids(), k);
      assertEquals(
          pack.equals("llava_15") ? ModelFamily.LLAVA : ModelFamily.LLAVA_ONEVISION,
          model.family());
      assertArrayEquals(exp.info("vision_features").shape(), out.visionShape());
      assertArrayEquals(exp.info("pooled_features").shape(), out.pooledShape());
      assertArrayEquals(exp.info("projected_features").shape(), out.projectedShape());
      assertArrayEquals(exp.info("logits").shape(), new long[] {out.seqLen(), out.vocab()});
      Map<String, float[]> actual = new LinkedHashMap<>();
      actual.put("vision_features", out.visionFeatures());
      actual.put("pooled_features", out.pooledFeatures());
      actual.put("projected_features", out.projectedFeatures());
      actual.put("logits", out.logits());
      for (Map.Entry<String, float[]> e : actual.entrySet()) {
        double err = relErr(e.getValue(), exp.readFloats(e.getKey()));
        assertTrue(
            err <= LlavaNextVideoGoldenTest.REL_TOL,
            pack + " " + e.getKey() + " relative error " + err);
      }
      int[] greedy =
          Arrays.stream(exp.readLongs("greedy_ids")).mapToInt(Math::toIntExact).toArray();
      assertArrayEquals(greedy, out.greedyIds(), pack + " greedy ids");
    }
  }

  @Test
  void configsApplyHfDefaults() throws Exception {
    LlavaConfig l = LlavaConfig.read(golden("llava_15"));
    assertEquals(-2, l.visionFeatureLayer());
    assertEquals(2, l.visionHiddenStateIndex()); // 3 layers: hidden_states[-2] = output of layer 2
    assertTrue(l.dropsCls());
    assertEquals(9, l.imageSeqLength());
    LlavaOnevisionConfig o = LlavaOnevisionConfig.read(golden("llava_onevision"));
    assertEquals(5, o.gridSize()); // floor(37 / 7)
    assertEquals(3, o.pooledGridSize()); // ceil(5 / 2)
    assertEquals(2 * 9 + 1, o.videoTokens(2));
    assertTrue(o.textConfig().attentionBias(), "qwen2 always has q/k/v biases");
    assertEquals(1e6, o.textConfig().ropeTheta());
    // an empty llava_onevision config takes HF's defaults: SigLIP so400m (26 layers), Qwen2Config()
    LlavaOnevisionConfig d =
        new LlavaOnevisionConfig(null, null, null, null, null, null, null, null, null, null)
            .resolved();
    assertEquals(26, d.visionConfig().numHiddenLayers());
    assertEquals(27, d.gridSize());
    assertEquals(14, d.pooledGridSize());
    assertEquals(8 * 196 + 1, d.videoTokens(8));
    assertEquals(151936, d.textConfig().vocabSize());
    assertEquals(151647, d.videoTokenIndex());
    // HF's bare LlavaConfig() is inconsistent (image_token_index 32000 = vocab_size): rejected, not
    // mis-run
    IllegalArgumentException bare =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new LlavaConfig(null, null, null, null, null, null, null, null, null, null)
                    .resolved());
    assertTrue(bare.getMessage().contains("image_token_index"), bare.getMessage());
    // llava-1.5-hf: vocab 32064 with <image> = 32000, CLIP-L/336 defaults -> 576 tokens per image
    LlamaConfig vicuna =
        new LlamaConfig(
            null, 32064, null, null, null, null, null, null, null, null, null, null, null, null,
            null, null, null, null);
    LlavaConfig dl =
        new LlavaConfig(null, null, vicuna, null, null, null, null, null, null, null).resolved();
    assertEquals(576, dl.imageSeqLength());
    assertEquals(32000, dl.imageTokenIndex());
    assertEquals(23, dl.visionHiddenStateIndex());
    // a text model_type this decoder does not implement fails by name
    LlamaConfig mistral =
        new LlamaConfig(
            "mistral", null, null, null, null, null, null, null, null, null, null, null, null, null,
            null, null, null, null);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, mistral::resolved);
    assertTrue(e.getMessage().contains("mistral"), e.getMessage());
  }

  @Test
  void unknownFamilyIsNamed(@TempDir Path tmp) throws Exception {
    Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"qwen2_vl\"}");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Families.load(tmp));
    assertTrue(
        e.getMessage().contains("qwen2_vl") && e.getMessage().contains("llava_onevision"),
        e.getMessage());
  }

  @Test
  void onevisionNeedsImageNewlineAndChecksPlaceholders(@TempDir Path tmp) throws Exception {
    Path src = golden("llava_onevision");
    for (String f : new String[] {"config.json", "tokenizer.json", "generation_config.json"}) {
      Files.copy(src.resolve(f), tmp.resolve(f));
    }
    // the same checkpoint without model.image_newline fails by name
    SafeTensorsWriter w = new SafeTensorsWriter();
    try (SafeTensors st = SafeTensors.open(src.resolve("model.safetensors"))) {
      for (String name : st.names()) {
        if (!name.equals("model.image_newline")) {
          w.addF32(name, st.info(name).shape(), st.readFloats(name));
        }
      }
    }
    w.write(tmp.resolve("model.safetensors"));
    WeightException e = assertThrows(WeightException.class, () -> Families.load(tmp));
    assertTrue(e.getMessage().contains("model.image_newline"), e.getMessage());

    Inputs in = Inputs.read(src);
    try (DebugForwardModel model = Families.load(src)) {
      // F*M placeholders (the newline row's one missing) is rejected with the count it needs
      int[] ids = in.ids().clone();
      for (int i = 0; i < ids.length; i++) {
        if (ids[i] == model.placeholderTokenId()) {
          ids[i] = 5;
          break;
        }
      }
      IllegalArgumentException bad =
          assertThrows(
              IllegalArgumentException.class,
              () -> model.forwardDebug(in.pixels(), in.frames(), ids, 1));
      assertTrue(
          bad.getMessage().contains("need " + model.visualTokens(in.frames())), bad.getMessage());
    }
  }
}
