package io.decostream.nn.llava.families;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.DebugForward;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.PromptTemplate;
import io.decostream.nn.llava.llava15.Llava;
import io.decostream.nn.llava.onevision.LlavaOnevision;
import io.decostream.nn.siglip.SiglipImageProcessor;
import io.decostream.nn.tokenizer.PackTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The answering path of the LLaVA-1.5 and OneVision families (spec §4.4–§4.5, §5): {@code generate}
 * renders the family's template (vicuna_v1 / ChatML), expands the placeholder after tokenization
 * and decodes greedily. Its ids must equal the golden-checked {@code forwardDebug} pass on the same
 * preprocessed pixels and the same prompt with the placeholder expanded by hand (minus the EOS id,
 * which generate does not return).
 */
class LlavaFamiliesGenerateTest {

  static final int K = 8;

  static List<RgbImage> frames(int n, int size, long seed) {
    Random r = new Random(seed);
    List<RgbImage> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] rgb = new byte[size * size * 3];
      r.nextBytes(rgb);
      out.add(new RgbImage(size, size, rgb));
    }
    return out;
  }

  static int[] expand(int[] ids, int placeholder, int rowsEach) {
    return Arrays.stream(ids)
        .flatMap(
            id ->
                id == placeholder
                    ? Arrays.stream(new int[rowsEach]).map(x -> placeholder)
                    : java.util.stream.IntStream.of(id))
        .toArray();
  }

  static int[] withoutTrailingEos(int[] ids, Set<Integer> eos) {
    return ids.length > 0 && eos.contains(ids[ids.length - 1])
        ? Arrays.copyOf(ids, ids.length - 1)
        : ids;
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

  @Test
  void llavaGenerateUsesVicunaTemplateAndMatchesTheDebugPass() throws Exception {
    Path dir = LlavaFamiliesGoldenTest.golden("llava_15");
    String question = "what color is the car in this image?";
    try (Llava model = Llava.load(dir);
        PackTokenizer tok = PackTokenizer.load(dir)) {
      int size = model.config().visionConfig().imageSize();
      List<RgbImage> images = frames(2, 40, 1);
      GenerationResult r = model.generate(images, question, GenerationOptions.greedy(K));
      // the same by hand: vicuna_v1 with one <image> per image, each expanded to N rows (spec §4.4,
      // §4.5)
      String prompt =
          PromptTemplate.VICUNA_SYSTEM + " USER: <image>\n<image>\n" + question + " ASSISTANT:";
      assertEquals(prompt, PromptTemplate.VICUNA_V1.render("<image>\n<image>", question));
      int[] ids =
          expand(tok.encode(prompt, true), model.placeholderTokenId(), model.tokensPerImage());
      assertEquals(ids.length, r.promptTokens());
      ClipImageProcessor p = ClipImageProcessor.square(size);
      Function<RgbImage, float[]> pre = p::preprocess;
      DebugForward d = model.forwardDebug(concat(images.stream().map(pre).toList()), 2, ids, K);
      Set<Integer> eos = Set.of(2);
      assertArrayEquals(withoutTrailingEos(d.greedyIds(), eos), r.tokenIds());
      assertEquals(tok.decode(r.tokenIds(), true), r.text());
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> model.generate(images, "see <image> here", GenerationOptions.greedy(2)));
      assertTrue(e.getMessage().contains("must not contain"), e.getMessage());
    }
  }

  @Test
  void onevisionGenerateUsesChatmlAndMatchesTheDebugPass() throws Exception {
    Path dir = LlavaFamiliesGoldenTest.golden("llava_onevision");
    String question = "what is happening in this video ?";
    try (LlavaOnevision model = LlavaOnevision.load(dir);
        PackTokenizer tok = PackTokenizer.load(dir)) {
      int size = model.config().visionConfig().imageSize();
      List<RgbImage> video = frames(3, 50, 2);
      GenerationResult r = model.generate(video, question, GenerationOptions.greedy(K));
      String prompt =
          "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<video>\n"
              + question
              + "<|im_end|>\n<|im_start|>assistant\n";
      assertEquals(prompt, PromptTemplate.CHATML.render("<video>", question));
      int[] ids =
          expand(tok.encode(prompt, true), model.placeholderTokenId(), model.visualTokens(3));
      assertEquals(3 * 9 + 1, model.visualTokens(3));
      assertEquals(ids.length, r.promptTokens());
      SiglipImageProcessor p = SiglipImageProcessor.square(size);
      Function<RgbImage, float[]> pre = p::preprocess;
      DebugForward d = model.forwardDebug(concat(video.stream().map(pre).toList()), 3, ids, K);
      assertArrayEquals(
          withoutTrailingEos(
              d.greedyIds(),
              model.config().textConfig().eosTokenIds().isEmpty()
                  ? Set.of()
                  : Set.copyOf(model.config().textConfig().eosTokenIds())),
          r.tokenIds());
    }
  }
}
