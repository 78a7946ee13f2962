package io.decostream.nn.tiny;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.DebugForwardModel;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.llava.families.Families;
import io.decostream.nn.llava.llava15.Llava;
import io.decostream.nn.llava.onevision.LlavaOnevision;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.Precision;
import io.decostream.nn.weights.WeightException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Random packs of every family ({@code deco model tiny --type}, issue 23 point 3): each is read
 * back by its family's strict loader, and its two halves, loaded for the encoder and the worker,
 * answer as the whole model does.
 */
class TinyFamiliesTest {

  /** A 4x4 grid (56/14), small towers: fast enough for a unit test. */
  static final TinyPack.Spec SMALL =
      new TinyPack.Spec(
          56, 14, 32, 64, 2, 2, 64, 128, 2, 4, 2, 512, 10000.0, -2, 2, DType.F32, 0.02);

  @TempDir Path tmp;

  static List<RgbImage> frames(int n, long seed) {
    Random r = new Random(seed);
    List<RgbImage> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] rgb = new byte[64 * 48 * 3];
      r.nextBytes(rgb);
      out.add(new RgbImage(64, 48, rgb));
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void eachFamilysPackLoadsStrictlyAndItsHalvesShipTheWholeGrid(ModelFamily family) {
    Path dir = tmp.resolve(family.modelType());
    assertEquals(family, TinyFamilies.write(dir, family, SMALL, 7));
    try (DebugForwardModel whole = Families.load(dir);
        StreamModel vision = Families.forStage(dir, PackPart.VISION, Precision.F32)) {
      assertEquals(family, whole.family());
      assertEquals(4, vision.visionGridSize());
      for (float[] f : vision.visionFeatures(frames(2, 1))) {
        assertEquals(4 * 4 * 32, f.length, "grid² x Dv per frame, CLS dropped");
      }
    }
  }

  @Test
  void onevisionPackIsChatmlWithoutBosAndItsSplitAnswersAsTheWholeModel() throws Exception {
    Path dir = tmp.resolve("ov");
    TinyFamilies.write(dir, ModelFamily.LLAVA_ONEVISION, SMALL, 3);
    try (PackTokenizer tok = PackTokenizer.load(dir)) {
      int[] ids = tok.encode("<|im_start|>user\nhello<|im_end|>", true);
      assertEquals(1, ids[0], "no BOS: the first id is <|im_start|>");
    }
    List<RgbImage> video = frames(3, 2);
    String q = "what color is the ball ?";
    try (LlavaOnevision whole = LlavaOnevision.load(dir);
        StreamModel vision = Families.forStage(dir, PackPart.VISION, Precision.F32);
        StreamModel language = Families.forStage(dir, PackPart.LANGUAGE, Precision.F32)) {
      GenerationResult expected = whole.generate(video, q, GenerationOptions.greedy(5));
      GenerationResult split =
          language.generate(
              new VideoPrompt(vision.visionFeatures(video), 16, q), GenerationOptions.greedy(5));
      assertArrayEquals(expected.tokenIds(), split.tokenIds());
      assertEquals(expected.promptTokens(), split.promptTokens());
    }
  }

  @Test
  void llavaSplitAnswersAsTheWholeModel() {
    Path dir = tmp.resolve("l15");
    TinyFamilies.write(dir, ModelFamily.LLAVA, SMALL, 4);
    List<RgbImage> images = frames(2, 5);
    String q = "what is in the video ?";
    try (Llava whole = Llava.load(dir);
        StreamModel vision = Families.forStage(dir, PackPart.VISION, Precision.F32);
        StreamModel language = Families.forStage(dir, PackPart.LANGUAGE, Precision.F32)) {
      GenerationResult expected = whole.generate(images, q, GenerationOptions.greedy(5));
      GenerationResult split =
          language.generate(
              new VideoPrompt(vision.visionFeatures(images), 16, q), GenerationOptions.greedy(5));
      assertArrayEquals(expected.tokenIds(), split.tokenIds());
    }
  }

  @Test
  void aMissingImageNewlineIsNamedByTheStrictLoader() throws Exception {
    Path dir = tmp.resolve("ov-broken");
    TinyFamilies.write(dir, ModelFamily.LLAVA_ONEVISION, SMALL, 3);
    // rewrite the checkpoint without image_newline (vocab size read back from the pack)
    Files.delete(dir.resolve("model.safetensors"));
    java.util.LinkedHashMap<String, long[]> without =
        TinyFamilies.onevisionShapes(SMALL, vocabOf(dir));
    without.remove("model.image_newline");
    TinyPack.writeWeights(dir.resolve("model.safetensors"), SMALL, without, 3);
    WeightException e = assertThrows(WeightException.class, () -> LlavaOnevision.load(dir));
    assertTrue(e.getMessage().contains("image_newline"), e.getMessage());
  }

  private static int vocabOf(Path dir) throws Exception {
    return new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(dir.resolve("config.json").toFile())
        .path("text_config")
        .path("vocab_size")
        .asInt();
  }
}
