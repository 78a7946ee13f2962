package io.decostream.nn.tiny;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.LlavaKeys;
import io.decostream.nn.weights.WeightBinder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyPackTest {

  @TempDir Path tmp;

  @Test
  void writesACompleteHfPack() throws Exception {
    Path dir = tmp.resolve("pack");
    LlavaNextVideoConfig written = TinyPack.write(dir, 42);
    assertEquals(
        (long) written.textConfig().vocabSize(),
        TinyPack.vocabularyWords().stream().distinct().count() + 6);
    for (String f :
        List.of(
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "generation_config.json",
            "preprocessor_config.json")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    LlavaNextVideoConfig cfg = LlavaNextVideoConfig.read(dir);
    ClipVisionConfig v = cfg.visionConfig();
    LlamaConfig t = cfg.textConfig();
    assertEquals("llava_next_video", cfg.modelType());
    assertEquals(24, v.gridSize()); // 336 / 14: 576 patches as in the real model
    assertEquals(64, v.hiddenSize());
    assertEquals(3, v.numHiddenLayers());
    assertEquals(2, cfg.visionHiddenStateIndex());
    assertEquals(12, cfg.pooledGridSize());
    assertEquals(128, t.hiddenSize());
    assertEquals(2, t.numKeyValueHeads());
    assertEquals(4096, t.maxPositionEmbeddings());
    JsonNode raw = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
    assertEquals(
        "LlavaNextVideoForConditionalGeneration", raw.get("architectures").get(0).asText());
    assertEquals("clip_vision_model", raw.get("vision_config").get("model_type").asText());
    assertEquals("llama", raw.get("text_config").get("model_type").asText());

    try (PackTokenizer tok = PackTokenizer.load(dir)) {
      assertEquals(t.vocabSize(), tok.vocabSize());
      assertEquals(cfg.videoTokenIndex(), tok.tokenId("<video>"));
      assertEquals(cfg.imageTokenIndex(), tok.tokenId("<image>"));
      assertEquals(t.bosTokenId(), tok.tokenId("<s>"));
      assertEquals(List.of(tok.tokenId("</s>")), t.eosTokenIds());
      // the whole vicuna_v1 prompt is in-vocabulary (no <unk>)
      String prompt =
          "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
              + "helpful, detailed, and polite answers to the user's questions. USER: <video>\nWhat color is the circle "
              + "moving in the top left? ASSISTANT:";
      int[] ids = tok.encode(prompt, true);
      assertEquals(1, ids[0]);
      assertFalse(
          Arrays.stream(ids).anyMatch(i -> i == 0), "unknown word in " + tok.decode(ids, false));
    }
    JsonNode gen = new ObjectMapper().readTree(dir.resolve("generation_config.json").toFile());
    assertEquals(2, gen.get("eos_token_id").asInt());
    ClipImageProcessor proc = ClipImageProcessor.fromPreprocessorConfig(dir);
    assertEquals(336, proc.shortestEdge());
    assertArrayEquals(ClipImageProcessor.OPENAI_CLIP_MEAN, proc.mean());

    try (SafeTensors st = SafeTensors.open(dir)) {
      // shapes derived from the config read back (independent of TinyPack.weightShapes)
      int dv = v.hiddenSize();
      int dt = t.hiddenSize();
      int kv = t.numKeyValueHeads() * t.headDim();
      assertArrayEquals(
          new long[] {577, dv},
          st.info("vision_tower.vision_model.embeddings.position_embedding.weight").shape());
      assertArrayEquals(
          new long[] {dv, 3, 14, 14},
          st.info("vision_tower.vision_model.embeddings.patch_embedding.weight").shape());
      assertArrayEquals(
          new long[] {dt, dv}, st.info("multi_modal_projector.linear_1.weight").shape());
      assertArrayEquals(new long[] {dt}, st.info("multi_modal_projector.linear_2.bias").shape());
      assertArrayEquals(
          new long[] {t.vocabSize(), dt},
          st.info("language_model.model.embed_tokens.weight").shape());
      assertArrayEquals(
          new long[] {t.vocabSize(), dt}, st.info("language_model.lm_head.weight").shape());
      for (int l = 0; l < t.numHiddenLayers(); l++) {
        String p = "language_model.model.layers." + l + ".";
        assertArrayEquals(new long[] {kv, dt}, st.info(p + "self_attn.k_proj.weight").shape());
        assertArrayEquals(
            new long[] {t.intermediateSize(), dt}, st.info(p + "mlp.gate_proj.weight").shape());
        assertArrayEquals(
            new long[] {dt, t.intermediateSize()}, st.info(p + "mlp.down_proj.weight").shape());
        assertArrayEquals(
            new float[dt], zeroMinusOnes(st.readFloats(p + "input_layernorm.weight")));
      }
      int expected = 5 + 16 * v.numHiddenLayers() + 2 + 4 + 1 + 9 * t.numHiddenLayers() + 2;
      assertEquals(expected, st.names().size());
      float[] emb = st.readFloats("language_model.model.embed_tokens.weight");
      double var = Arrays.stream(toDouble(emb)).map(x -> x * x).average().orElse(0);
      assertEquals(0.02, Math.sqrt(var), 0.002, "weights are N(0, 0.02^2)");
    }

    // the whole vision tower binds strictly through the OLD layout and runs on a real image
    try (NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(dir, m)) {
      LlavaKeys keys = LlavaKeys.detect(w);
      assertEquals(LlavaKeys.Layout.OLD, keys.layout());
      WeightBinder vision = w.scoped(keys.visionPrefix());
      try (ClipVisionTower tower =
          new ClipVisionTower(vision, v, cfg.visionHiddenStateIndex(), true)) {
        w.scoped(keys.visionTowerPrefix()).assertAllUsed();
        byte[] rgb = new byte[400 * 300 * 3];
        for (int i = 0; i < rgb.length; i++) {
          rgb[i] = (byte) (i * 7 % 251);
        }
        List<float[]> f = tower.features(List.of(proc.preprocess(new RgbImage(400, 300, rgb))));
        assertEquals(576 * 64, f.get(0).length);
        assertTrue(Arrays.stream(toDouble(f.get(0))).allMatch(Double::isFinite));
      }
    }
  }

  @Test
  void sameSeedSameBytesOtherSeedOtherWeights() throws Exception {
    TinyPack.Spec small =
        new TinyPack.Spec(
            28,
            14,
            8,
            16,
            2,
            2,
            16,
            32,
            1,
            2,
            1,
            256,
            1e4,
            -2,
            2,
            io.decostream.nn.safetensors.DType.BF16,
            0.02);
    TinyPack.write(tmp.resolve("a"), small, 1);
    TinyPack.write(tmp.resolve("b"), small, 1);
    TinyPack.write(tmp.resolve("c"), small, 2);
    byte[] a = Files.readAllBytes(tmp.resolve("a/model.safetensors"));
    assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b/model.safetensors")));
    assertFalse(Arrays.equals(a, Files.readAllBytes(tmp.resolve("c/model.safetensors"))));
    try (SafeTensors st = SafeTensors.open(tmp.resolve("a"))) {
      assertEquals(
          io.decostream.nn.safetensors.DType.BF16,
          st.info("language_model.lm_head.weight").dtype());
    }
    assertEquals(
        "bfloat16",
        new ObjectMapper()
            .readTree(tmp.resolve("a/config.json").toFile())
            .get("torch_dtype")
            .asText());
  }

  private static float[] zeroMinusOnes(float[] a) {
    float[] out = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i] - 1f;
    }
    return out;
  }

  private static double[] toDouble(float[] a) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i];
    }
    return d;
  }
}
