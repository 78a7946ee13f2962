package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.DebugForwardModel;
import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.PromptTemplate;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.families.Families;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.siglip.SiglipImageProcessor;
import io.decostream.nn.tiny.TinyFamilies;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.Precision;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's backend over the language half of each family (issue 23 point 3): its greedy answer
 * to the encoder half's shipped features equals the tokens of the debugging pass behind {@code deco
 * model forward} on the same frames (the family's own preprocessing, template and placeholder
 * expansion, built here by hand); families whose prompt cannot be kept prefilled have no live
 * window, so the worker re-prefills.
 */
class FamilyAnswerBackendTest {
  /** A 4x4 vision grid: 16 shipped rows per frame. */
  static final TinyPack.Spec SMALL =
      new TinyPack.Spec(
          56, 14, 32, 64, 2, 2, 64, 128, 2, 4, 2, 512, 10000.0, -2, 2, DType.F32, 0.02);

  static final int K = 5;
  static final String QUESTION = "what is moving ?";

  @TempDir Path tmp;

  static List<RgbImage> frames(int n) {
    Random r = new Random(9);
    List<RgbImage> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] rgb = new byte[56 * 56 * 3];
      r.nextBytes(rgb);
      out.add(new RgbImage(56, 56, rgb));
    }
    return out;
  }

  static int[] expand(int[] ids, int placeholder, int rowsEach) {
    return Arrays.stream(ids)
        .flatMap(
            id ->
                id == placeholder ? IntStream.generate(() -> id).limit(rowsEach) : IntStream.of(id))
        .toArray();
  }

  static float[] concat(List<float[]> parts) {
    float[] out = new float[parts.stream().mapToInt(p -> p.length).sum()];
    int o = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, o, p.length);
      o += p.length;
    }
    return out;
  }

  /** The backend's greedy ids over the shipped features of {@code images}. */
  private int[] workerAnswer(Path dir, List<RgbImage> images) {
    try (StreamModel vision = Families.forStage(dir, PackPart.VISION, Precision.F32);
        StreamModel language = Families.forStage(dir, PackPart.LANGUAGE, Precision.F32)) {
      LlavaAnswerBackend backend = new LlavaAnswerBackend(language);
      assertNull(backend.openLive(16, 4, 32), "no live window: the worker re-prefills");
      AnswerBackend.Generated g = backend.generate(vision.visionFeatures(images), 16, QUESTION, K);
      assertNotNull(g.text());
      return g.tokenIds();
    }
  }

  /** The debugging pass's greedy ids, its trailing EOS dropped (generate does not return it). */
  private static int[] forwardAnswer(
      Path dir, float[] pixels, int frames, String prompt, int rowsEach, Set<Integer> eos)
      throws Exception {
    try (DebugForwardModel whole = Families.load(dir);
        PackTokenizer tok = PackTokenizer.load(dir)) {
      int[] ids = expand(tok.encode(prompt, true), whole.placeholderTokenId(), rowsEach);
      int[] greedy = whole.forwardDebug(pixels, frames, ids, K).greedyIds();
      assertTrue(greedy.length > 1, "the tiny pack answers more than an EOS");
      return greedy.length > 0 && eos.contains(greedy[greedy.length - 1])
          ? Arrays.copyOf(greedy, greedy.length - 1)
          : greedy;
    }
  }

  @Test
  void onevisionAnswerEqualsTheForwardPass() throws Exception {
    Path dir = tmp.resolve("ov");
    TinyFamilies.write(dir, ModelFamily.LLAVA_ONEVISION, SMALL, 21);
    List<RgbImage> images = frames(3);
    SiglipImageProcessor p = SiglipImageProcessor.square(56);
    float[] pixels = concat(images.stream().map(p::preprocess).toList());
    // ChatML, one <video> expanded to 3 frames x ceil(4/2)² + image_newline (spec §3.4)
    String prompt = PromptTemplate.CHATML.render("<video>", QUESTION);
    int eos = 2; // <|im_end|>
    assertArrayEquals(
        forwardAnswer(dir, pixels, 3, prompt, 3 * 4 + 1, Set.of(eos)), workerAnswer(dir, images));
  }

  @Test
  void llavaAnswerEqualsTheForwardPass() throws Exception {
    Path dir = tmp.resolve("l15");
    TinyFamilies.write(dir, ModelFamily.LLAVA, SMALL, 22);
    List<RgbImage> images = frames(2);
    ClipImageProcessor p = ClipImageProcessor.square(56);
    float[] pixels = concat(images.stream().map(p::preprocess).toList());
    // vicuna_v1 with one <image> per frame, each expanded to the 16 patch rows (CLS dropped)
    String prompt = PromptTemplate.VICUNA_V1.render("<image>\n<image>", QUESTION);
    int eos = 2; // </s>
    assertArrayEquals(
        forwardAnswer(dir, pixels, 2, prompt, 16, Set.of(eos)), workerAnswer(dir, images));
  }

  @Test
  void nextVideoKeepsItsLiveWindow() {
    Path dir = tmp.resolve("nv");
    TinyFamilies.write(dir, ModelFamily.LLAVA_NEXT_VIDEO, SMALL, 23);
    try (StreamModel language = Families.forStage(dir, PackPart.LANGUAGE, Precision.F32)) {
      AnswerBackend.Live live = new LlavaAnswerBackend(language).openLive(4, 2, 32);
      assertNotNull(live);
      assertEquals(2, live.maxFrames());
      live.close();
    }
  }
}
