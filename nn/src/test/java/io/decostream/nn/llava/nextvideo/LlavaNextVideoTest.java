package io.decostream.nn.llava.nextvideo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.WeightException;
import io.decostream.projector.TokenCompressor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The facade on a tiny random LLaVA-NeXT-Video pack ({@link TinyPack}). */
class LlavaNextVideoTest {

  static final String QUESTION = "what color is the circle ?";

  @TempDir static Path tmp;
  static Path pack;

  @BeforeAll
  static void writePack() {
    pack = tmp.resolve("tiny");
    TinyPack.write(pack, 7);
  }

  static List<float[]> randomFrames(int frames, int tokens, int dim, long seed) {
    Random r = new Random(seed);
    List<float[]> out = new ArrayList<>();
    for (int f = 0; f < frames; f++) {
      float[] x = new float[tokens * dim];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
      out.add(x);
    }
    return out;
  }

  /**
   * Text tokens of the vicuna_v1 prompt, counted independently: BOS + words around the placeholder.
   */
  static int textTokens(Path dir, String question) {
    try (PackTokenizer t = PackTokenizer.load(dir)) {
      return t.encode(LlavaNextVideo.SYSTEM_PROMPT + " USER: ", true).length
          + t.encode("\n" + question + " ASSISTANT:", false).length;
    }
  }

  @Test
  void generatesFromPooledFramesWithTheExpandedPrompt() {
    try (LlavaNextVideo model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.ALL)) {
      assertEquals(24, model.visionGridSize());
      assertEquals(64, model.visionHidden());
      assertEquals(2, model.visionFeatureLayer()); // -2 with 3 layers
      assertEquals(12, model.defaultPooledGrid());
      assertEquals(4096, model.contextLength());
      assertEquals((4096 - 100) / 144, model.maxFrames(144, 100));
      assertEquals("tiny", model.modelId());

      List<float[]> frames = randomFrames(2, 144, 64, 1);
      GenerationOptions opts = new GenerationOptions(6, 0, 1, 0);
      GenerationResult r = model.generate(new VideoPrompt(frames, 144, QUESTION), opts);
      int text = textTokens(pack, QUESTION);
      assertTrue(text > 30, "vicuna prompt has " + text + " text tokens");
      assertEquals(text + 288, r.promptTokens());
      assertTrue(r.generatedTokens() <= 6);
      assertEquals(r.generatedTokens(), r.tokenIds().length);
      try (PackTokenizer t = PackTokenizer.load(pack)) {
        assertEquals(t.decode(r.tokenIds(), true), r.text());
        int eos = t.tokenId("</s>");
        for (int id : r.tokenIds()) {
          assertTrue(id != eos, "EOS is not part of the output");
        }
      }
      assertTrue(r.projectorMillis() > 0 && r.prefillMillis() > 0);
      // greedy is deterministic
      assertArrayEquals(
          r.tokenIds(), model.generate(new VideoPrompt(frames, 144, QUESTION), opts).tokenIds());
      // seeded sampling is reproducible
      GenerationOptions hot = new GenerationOptions(8, 1.0, 0.9, 5);
      assertArrayEquals(
          model.generate(new VideoPrompt(frames, 144, QUESTION), hot).tokenIds(),
          model.generate(new VideoPrompt(frames, 144, QUESTION), hot).tokenIds());
    }
  }

  @Test
  void splicesProjectedFramesInOrderLikeHf() {
    // a pack with larger weights so that the visual rows visibly steer greedy decoding
    Path sharp = tmp.resolve("sharp");
    TinyPack.Spec d = TinyPack.Spec.defaults();
    TinyPack.write(
        sharp,
        new TinyPack.Spec(
            d.imageSize(),
            d.patchSize(),
            d.visionHidden(),
            d.visionIntermediate(),
            d.visionLayers(),
            d.visionHeads(),
            d.textHidden(),
            d.textIntermediate(),
            d.textLayers(),
            d.textHeads(),
            d.textKvHeads(),
            1024,
            d.ropeTheta(),
            d.visionFeatureLayer(),
            d.spatialPoolStride(),
            d.dtype(),
            0.3),
        11);
    List<float[]> frames = randomFrames(2, 144, 64, 21);
    int steps = 6;
    int[] facade;
    int[] swapped;
    try (LlavaNextVideo model = LlavaNextVideo.load(sharp, LlavaNextVideo.Part.LANGUAGE)) {
      facade =
          model
              .generate(
                  new VideoPrompt(frames, 144, QUESTION), new GenerationOptions(steps, 0, 1, 0))
              .tokenIds();
      swapped =
          model
              .generate(
                  new VideoPrompt(List.of(frames.get(1), frames.get(0)), 144, QUESTION),
                  new GenerationOptions(steps, 0, 1, 0))
              .tokenIds();
    }
    int[] reference = HfStyleReference.greedy(sharp, frames, 144, QUESTION, steps);
    assertArrayEquals(reference, facade, "facade vs masked-scatter full-recompute reference");
    assertTrue(
        !java.util.Arrays.equals(facade, swapped),
        "frame order must matter: " + java.util.Arrays.toString(facade));
  }

  @Test
  void endToEndFromImagesThroughPooling() {
    try (LlavaNextVideo model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.ALL)) {
      List<RgbImage> images = new ArrayList<>();
      Random r = new Random(3);
      for (int i = 0; i < 2; i++) {
        byte[] rgb = new byte[40 * 30 * 3];
        r.nextBytes(rgb);
        images.add(new RgbImage(40, 30, rgb));
      }
      List<float[]> feats = model.visionFeatures(images);
      assertEquals(2, feats.size());
      assertEquals(576 * 64, feats.get(0).length);
      TokenCompressor pool = TokenCompressor.deco(model.defaultPooledGrid());
      List<float[]> pooled = feats.stream().map(f -> pool.compress(f, 24, 24, 64)).toList();
      GenerationResult g =
          model.generate(new VideoPrompt(pooled, 144, QUESTION), GenerationOptions.greedy(3));
      assertEquals(textTokens(pack, QUESTION) + 288, g.promptTokens());
      assertTrue(g.generatedTokens() <= 3);
    }
  }

  @Test
  void failsClearlyOnBadPrompts() {
    try (LlavaNextVideo model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.LANGUAGE)) {
      List<float[]> frames = randomFrames(2, 144, 64, 1);
      frames.set(1, new float[143 * 64]);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  model.generate(
                      new VideoPrompt(frames, 144, QUESTION), GenerationOptions.defaults()));
      assertTrue(e.getMessage().contains("frame 1"), e.getMessage());
      IllegalArgumentException p =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  model.generate(
                      new VideoPrompt(randomFrames(1, 144, 64, 1), 144, "is <video> red"),
                      GenerationOptions.defaults()));
      assertTrue(p.getMessage().contains("<video>"), p.getMessage());
      IllegalStateException s =
          assertThrows(IllegalStateException.class, () -> model.visionFeatures(List.of()));
      assertTrue(s.getMessage().contains("VISION"), s.getMessage());
    }
    try (LlavaNextVideo vision = LlavaNextVideo.load(pack, LlavaNextVideo.Part.VISION)) {
      assertThrows(
          IllegalStateException.class,
          () ->
              vision.generate(
                  new VideoPrompt(randomFrames(1, 144, 64, 1), 144, QUESTION),
                  GenerationOptions.defaults()));
    }
  }

  @Test
  void promptLongerThanTheContextFails() {
    Path small = tmp.resolve("ctx300");
    TinyPack.Spec d = TinyPack.Spec.defaults();
    TinyPack.write(
        small,
        new TinyPack.Spec(
            d.imageSize(),
            d.patchSize(),
            d.visionHidden(),
            d.visionIntermediate(),
            d.visionLayers(),
            d.visionHeads(),
            d.textHidden(),
            d.textIntermediate(),
            d.textLayers(),
            d.textHeads(),
            d.textKvHeads(),
            300,
            d.ropeTheta(),
            d.visionFeatureLayer(),
            d.spatialPoolStride(),
            d.dtype(),
            d.std()),
        7);
    try (LlavaNextVideo model = LlavaNextVideo.load(small, LlavaNextVideo.Part.LANGUAGE)) {
      assertEquals(1, model.maxFrames(144, textTokens(small, QUESTION)));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  model.generate(
                      new VideoPrompt(randomFrames(2, 144, 64, 1), 144, QUESTION),
                      GenerationOptions.defaults()));
      assertTrue(e.getMessage().contains("exceeds the context length 300"), e.getMessage());
      // one frame fits; generation stops at the context end at the latest
      GenerationResult r =
          model.generate(
              new VideoPrompt(randomFrames(1, 144, 64, 1), 144, QUESTION),
              new GenerationOptions(500, 1.0, 1.0, 1));
      assertTrue(
          r.promptTokens() + r.generatedTokens() <= 301,
          r.promptTokens() + " + " + r.generatedTokens());
    }
  }

  /**
   * Rewrites the pack's model.safetensors through {@code edit} (name -> new name, or null to drop).
   */
  static Path editedPack(String dirName, UnaryOperator<String> rename, String reshape, String extra)
      throws Exception {
    Path dir = tmp.resolve(dirName);
    Files.createDirectories(dir);
    for (String f :
        List.of(
            "config.json",
            "tokenizer.json",
            "generation_config.json",
            "preprocessor_config.json")) {
      Files.copy(pack.resolve(f), dir.resolve(f));
    }
    SafeTensorsWriter w = new SafeTensorsWriter();
    try (SafeTensors st = SafeTensors.open(pack.resolve("model.safetensors"))) {
      for (String name : st.names()) {
        String to = rename.apply(name);
        if (to == null) {
          continue;
        }
        float[] data = st.readFloats(name);
        long[] shape = st.info(name).shape();
        if (name.equals(reshape)) {
          data = java.util.Arrays.copyOf(data, data.length + (int) shape[1]);
          shape = new long[] {shape[0] + 1, shape[1]};
        }
        w.add(to, DType.F32, shape, data);
      }
    }
    if (extra != null) {
      w.add(extra, DType.F32, new long[] {2}, new float[2]);
    }
    w.write(dir.resolve("model.safetensors"));
    return dir;
  }

  @Test
  void strictLoadingNamesTheBadWeight() throws Exception {
    String up = "language_model.model.layers.1.mlp.up_proj.weight";
    Path missing = editedPack("missing", n -> n.equals(up) ? null : n, null, null);
    WeightException e =
        assertThrows(
            WeightException.class, () -> LlavaNextVideo.load(missing, LlavaNextVideo.Part.ALL));
    assertTrue(e.getMessage().contains(up), e.getMessage());
    // the language part is not loaded: the missing weight does not matter
    try (LlavaNextVideo v = LlavaNextVideo.load(missing, LlavaNextVideo.Part.VISION)) {
      assertEquals(64, v.visionHidden());
    }

    String l1 = "multi_modal_projector.linear_1.weight";
    Path misshaped = editedPack("misshaped", n -> n, l1, null);
    WeightException m =
        assertThrows(
            WeightException.class,
            () -> LlavaNextVideo.load(misshaped, LlavaNextVideo.Part.LANGUAGE));
    assertTrue(m.getMessage().contains(l1) && m.getMessage().contains("[129, 64]"), m.getMessage());

    String stray = "language_model.model.layers.0.self_attn.rotary_emb.inv_freq";
    Path unused = editedPack("unused", n -> n, null, stray);
    WeightException u =
        assertThrows(
            WeightException.class, () -> LlavaNextVideo.load(unused, LlavaNextVideo.Part.LANGUAGE));
    assertTrue(u.getMessage().contains(stray), u.getMessage());

    String vis = "vision_tower.vision_model.encoder.layers.2.mlp.fc2.bias";
    Path noVision = editedPack("novision", n -> n.equals(vis) ? null : n, null, null);
    WeightException v =
        assertThrows(
            WeightException.class, () -> LlavaNextVideo.load(noVision, LlavaNextVideo.Part.VISION));
    assertTrue(v.getMessage().contains(vis), v.getMessage());
    try (LlavaNextVideo lang = LlavaNextVideo.load(noVision, LlavaNextVideo.Part.LANGUAGE)) {
      assertEquals(4096, lang.contextLength());
    }
  }

  @Test
  void newKeyLayoutGivesTheSameAnswer() throws Exception {
    // transformers >= 4.52 save format (spec §1.4): model.vision_tower /
    // model.multi_modal_projector /
    // model.language_model / lm_head
    Path renamed =
        editedPack(
            "newlayout",
            n ->
                n.startsWith("language_model.model.")
                    ? "model.language_model." + n.substring("language_model.model.".length())
                    : n.equals("language_model.lm_head.weight") ? "lm_head.weight" : "model." + n,
            null,
            null);
    List<float[]> frames = randomFrames(2, 144, 64, 9);
    GenerationOptions opts = new GenerationOptions(5, 1.0, 1.0, 4);
    try (LlavaNextVideo a = LlavaNextVideo.load(pack, LlavaNextVideo.Part.ALL);
        LlavaNextVideo b = LlavaNextVideo.load(renamed, LlavaNextVideo.Part.ALL)) {
      assertArrayEquals(
          a.generate(new VideoPrompt(frames, 144, QUESTION), opts).tokenIds(),
          b.generate(new VideoPrompt(frames, 144, QUESTION), opts).tokenIds());
    }
  }
}
