package io.decostream.nn.llava.families;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.AnswerGrounding;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.llava.llava15.Llava;
import io.decostream.nn.llava.onevision.LlavaOnevision;
import io.decostream.nn.weights.Precision;
import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.PoolingMode;
import io.decostream.projector.TokenCompressor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The stream face of the LLaVA-1.5 and OneVision families (issue 23 point 3): the encoder half
 * ({@code Families.forStage(VISION)}) ships per-frame features, the worker half ({@code
 * forStage(LANGUAGE)}) answers over them, and the answer is the whole model's (itself checked
 * against the golden debug pass in {@link LlavaFamiliesGenerateTest}).
 */
class StreamFaceTest {

  static final int K = 6;

  private static GenerationResult splitAnswer(
      Path dir, List<RgbImage> frames, String question, int expectGrid) {
    try (StreamModel vision = Families.forStage(dir, PackPart.VISION, Precision.F32);
        StreamModel language = Families.forStage(dir, PackPart.LANGUAGE, Precision.F32)) {
      List<float[]> shipped = vision.visionFeatures(frames);
      assertEquals(expectGrid, vision.visionGridSize());
      for (float[] f : shipped) {
        // the encoder's contract: grid² x Dv per frame, before any pooling
        assertEquals(expectGrid * expectGrid * vision.visionHidden(), f.length);
      }
      // each half refuses the other's calls
      assertThrows(IllegalStateException.class, () -> language.visionFeatures(frames));
      VideoPrompt p = new VideoPrompt(shipped, expectGrid * expectGrid, question);
      assertThrows(
          IllegalStateException.class, () -> vision.generate(p, GenerationOptions.greedy(K)));
      return language.generate(p, GenerationOptions.greedy(K));
    }
  }

  @Test
  void llavaSplitAcrossStagesAnswersAsTheWholeModel() throws Exception {
    Path dir = LlavaFamiliesGoldenTest.golden("llava_15");
    String question = "what color is the car in this image?";
    List<RgbImage> frames = LlavaFamiliesGenerateTest.frames(2, 40, 1);
    try (Llava whole = Llava.load(dir)) {
      GenerationResult expected = whole.generate(frames, question, GenerationOptions.greedy(K));
      GenerationResult split = splitAnswer(dir, frames, question, whole.visionGridSize());
      assertEquals(ModelFamily.LLAVA, whole.family());
      assertArrayEquals(expected.tokenIds(), split.tokenIds());
      assertEquals(expected.promptTokens(), split.promptTokens());
      // LLaVA-1.5 takes a DeCo budget: pooled before its per-token projector
      assertNull(whole.compressorRefusal(TokenCompressor.deco(2)));
      assertEquals(whole.visionGridSize(), whole.defaultPooledGrid());
      assertNull(whole.openLiveWindow(4, 2, 16), "vicuna_v1 with one <image> per frame");
    }
  }

  @Test
  void llavaAnswersAndGroundsOverDecoPooledRows() throws Exception {
    Path dir = LlavaFamiliesGoldenTest.golden("llava_15");
    List<RgbImage> frames = LlavaFamiliesGenerateTest.frames(2, 40, 3);
    try (StreamModel vision = Families.forStage(dir, PackPart.VISION, Precision.F32);
        StreamModel language = Families.forStage(dir, PackPart.LANGUAGE, Precision.F32)) {
      int g = vision.visionGridSize();
      int dv = vision.visionHidden();
      List<float[]> features = vision.visionFeatures(frames);
      List<float[]> pooled = new ArrayList<>();
      for (float[] f : features) {
        pooled.add(AdaptivePool2d.pool(f, g, g, dv, 2, 2, PoolingMode.AVG));
      }
      VideoPrompt p = new VideoPrompt(pooled, 4, "what is it?");
      GenerationResult r = language.generate(p, GenerationOptions.greedy(K));
      GenerationResult unpooled =
          language.generate(
              new VideoPrompt(features, g * g, "what is it?"), GenerationOptions.greedy(1));
      // the same text, each <image> now expanded to 4 rows instead of grid²
      assertEquals(unpooled.promptTokens() - 2 * (g * g - 4), r.promptTokens());
      if (r.tokenIds().length > 0) {
        AnswerGrounding a = language.explain(p, r.tokenIds());
        assertEquals(2 * 4, a.mean().length, "one value per shipped row");
      }
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  language.generate(
                      new VideoPrompt(pooled, 9, "what is it?"), GenerationOptions.greedy(1)));
      assertTrue(e.getMessage().contains("expected"), e.getMessage());
    }
  }

  @Test
  void onevisionSplitAcrossStagesAnswersAsTheWholeModel() throws Exception {
    Path dir = LlavaFamiliesGoldenTest.golden("llava_onevision");
    String question = "what is happening in this video ?";
    List<RgbImage> frames = LlavaFamiliesGenerateTest.frames(3, 50, 2);
    try (LlavaOnevision whole = LlavaOnevision.load(dir)) {
      GenerationResult expected = whole.generate(frames, question, GenerationOptions.greedy(K));
      GenerationResult split = splitAnswer(dir, frames, question, whole.visionGridSize());
      assertArrayEquals(expected.tokenIds(), split.tokenIds());
      assertEquals(expected.promptTokens(), split.promptTokens());
      assertNull(whole.openLiveWindow(25, 2, 16), "image_newline follows the last frame");
    }
  }

  @Test
  void onevisionRefusesPoolingBeforeItsProjectorAndGroundsOnTheShippedGrid() throws Exception {
    Path dir = LlavaFamiliesGoldenTest.golden("llava_onevision");
    try (StreamModel vision = Families.forStage(dir, PackPart.VISION, Precision.F32);
        StreamModel language = Families.forStage(dir, PackPart.LANGUAGE, Precision.F32)) {
      int g = vision.visionGridSize(); // 37 / 7 = 5; pooled ceil(5/2) = 3
      assertNull(vision.compressorRefusal(TokenCompressor.none()));
      assertNull(vision.compressorRefusal(TokenCompressor.deco(g)), "identity pooling");
      String why = vision.compressorRefusal(TokenCompressor.deco(2));
      assertNotNull(why);
      assertTrue(why.contains("llava_onevision") && why.contains("avg:2x2"), why);
      // 96 positions, 10 reserved, one image_newline: (96 - 10 - 1) / 9 frames
      assertEquals((96 - 10 - 1) / 9, language.maxFrames(g * g, 10));
      assertThrows(IllegalArgumentException.class, () -> language.maxFrames(4, 10));
      List<float[]> shipped = vision.visionFeatures(LlavaFamiliesGenerateTest.frames(2, 50, 5));
      VideoPrompt p = new VideoPrompt(shipped, g * g, "what is it?");
      GenerationResult r = language.generate(p, GenerationOptions.greedy(K));
      assertTrue(r.tokenIds().length > 0, "the tiny golden pack answers something");
      AnswerGrounding a = language.explain(p, r.tokenIds());
      // mapped back through the bilinear weights: one value per shipped SigLIP token
      assertEquals(2 * g * g, a.mean().length);
      assertEquals(2 * g * g, a.textToQuery()[0].length);
      double total = 0;
      for (float v : a.mean()) {
        total += Math.abs(v);
      }
      assertTrue(total > 0, "some relevance reaches the patches");
    }
  }
}
