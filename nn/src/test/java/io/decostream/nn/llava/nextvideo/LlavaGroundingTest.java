package io.decostream.nn.llava.nextvideo;

import static io.decostream.nn.llava.nextvideo.LlavaNextVideoGoldenTest.relErr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.llava.AnswerGrounding;
import io.decostream.nn.llava.DebugForward;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.tokenizer.PackTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Grounding through the model facades (issue 4): {@code forwardDebug(..., grounding=true)} on the
 * tiny llava_next_video pack equals the independent plain-PyTorch {@code retain_grad} reference
 * ({@code golden/rgae/make_rgae_golden.py}) for the avg-pool, max-pool and linear (stride 1)
 * projectors, and {@link LlavaNextVideo#explain} (what the worker calls) gives the same rows from
 * pooled features and a question.
 */
class LlavaGroundingTest {

  static Path rgae() throws Exception {
    return Path.of(LlavaGroundingTest.class.getResource("/golden/rgae/rgae.safetensors").toURI());
  }

  /** The f32 tiny pack with another pooling setup written into config.json. */
  static Path packWith(Path tmp, String mode, int stride) throws Exception {
    Path src = LlavaNextVideoGoldenTest.golden("f32");
    Path dir = tmp.resolve(mode + stride);
    Files.createDirectories(dir);
    try (var files = Files.list(src)) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    String cfg =
        Files.readString(dir.resolve("config.json"))
            .replace(
                "\"spatial_pool_mode\": \"average\"", "\"spatial_pool_mode\": \"" + mode + "\"")
            .replace("\"spatial_pool_stride\": 2", "\"spatial_pool_stride\": " + stride);
    Files.writeString(dir.resolve("config.json"), cfg);
    return dir;
  }

  @ParameterizedTest
  @CsvSource({"avg, average, 2", "max, max, 2", "linear, average, 1"})
  void debugPassGroundingEqualsThePyTorchReference(
      String setup, String mode, int stride, @TempDir Path tmp) throws Exception {
    try (SafeTensors ref = SafeTensors.open(rgae());
        LlavaNextVideo model =
            LlavaNextVideo.load(packWith(tmp, mode, stride), LlavaNextVideo.Part.ALL)) {
      float[] pixels = ref.readFloats("pixels");
      int visual = (int) ref.info(setup + "/visual_positions").shape()[0];
      int[] ids =
          expand(
              Arrays.stream(ref.readLongs("input_ids")).mapToInt(Math::toIntExact).toArray(),
              model.config().videoTokenIndex(),
              visual);
      int k = (int) ref.info(setup + "/greedy_ids").shape()[0];
      DebugForward d = model.forwardDebug(pixels, 2, ids, k, true);
      assertArrayEquals(
          Arrays.stream(ref.readLongs(setup + "/greedy_ids")).mapToInt(Math::toIntExact).toArray(),
          d.greedyIds());
      double ttq = relErr(d.textToQuery(), ref.readFloats(setup + "/text_to_query"));
      double ttp = relErr(d.textToPatch(), ref.readFloats(setup + "/text_to_patch"));
      assertTrue(
          ttq <= 1e-4 && ttp <= 1e-4, setup + ": text_to_query " + ttq + ", text_to_patch " + ttp);
      assertNull(model.forwardDebug(pixels, 2, ids, k).textToQuery(), "no grounding unless asked");
    }
  }

  static int[] expand(int[] ids, int placeholder, int copies) {
    List<Integer> out = new ArrayList<>();
    for (int id : ids) {
      if (id == placeholder) {
        for (int i = 0; i < copies; i++) {
          out.add(id);
        }
      } else {
        out.add(id);
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  @ParameterizedTest
  @CsvSource({"what is the man does in this video ?"})
  void facadeExplainEqualsTheDebugPassAndGroupsWords(String question) throws Exception {
    Path pack = LlavaNextVideoGoldenTest.golden("f32");
    try (LlavaNextVideo model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.ALL);
        PackTokenizer tok = PackTokenizer.load(pack);
        SafeTensors in = SafeTensors.open(pack.resolveSibling("inputs.safetensors"))) {
      int[] ids =
          expand(
              tok.encode(LlavaNextVideo.promptText(question), true),
              model.config().videoTokenIndex(),
              8);
      DebugForward d = model.forwardDebug(in.readFloats("pixel_values_videos"), 2, ids, 4, true);
      List<float[]> frames =
          List.of(
              Arrays.copyOfRange(d.pooledFeatures(), 0, 4 * 16),
              Arrays.copyOfRange(d.pooledFeatures(), 4 * 16, 8 * 16));
      int[] gen = d.greedyIds();
      AnswerGrounding g = model.explain(new VideoPrompt(frames, 4, question), gen);
      assertEquals(gen.length, g.textToQuery().length);
      float[] rows = new float[gen.length * 8];
      for (int t = 0; t < gen.length; t++) {
        System.arraycopy(g.textToQuery()[t], 0, rows, t * 8, 8);
      }
      assertTrue(relErr(rows, d.textToQuery()) <= 1e-5, "explain() rows equal the debug pass");
      // word-level vocabulary: one word per token; the mean is the average of the rows
      assertEquals(gen.length, g.words().size());
      for (int j = 0; j < 8; j++) {
        double mean = 0;
        for (float[] r : g.textToQuery()) {
          mean += r[j] / gen.length;
        }
        assertEquals(mean, g.mean()[j], 1e-6);
      }
      assertEquals(tok.decode(new int[] {gen[0]}, false).trim(), g.tokens().get(0));
      assertTrue(g.millis() > 0);
    }
  }
}
