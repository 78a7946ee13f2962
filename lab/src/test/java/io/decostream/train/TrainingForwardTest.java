package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.PoolingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingForwardTest {

  /**
   * A very small pack: 28 px / patch 7 (grid 4, pooled 2x2), vision 16 wide, Llama 32 wide with
   * GQA.
   */
  static TinyPack.Spec spec() {
    return new TinyPack.Spec(
        28, 7, 16, 32, 2, 2, 32, 64, 2, 4, 2, 256, 10000.0, -1, 2, DType.F32, 0.2);
  }

  static List<RgbImage> solid(int n, int r, int g, int b) {
    List<RgbImage> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] rgb = new byte[28 * 28 * 3];
      for (int p = 0; p < 28 * 28; p++) {
        rgb[3 * p] = (byte) r;
        rgb[3 * p + 1] = (byte) g;
        rgb[3 * p + 2] = (byte) b;
      }
      out.add(new RgbImage(28, 28, rgb));
    }
    return out;
  }

  /**
   * The decoder's batched training path (two sequences, no cache) equals its own serving path (KV
   * cache, one sequence at a time), logit for logit: one layer code, two uses.
   */
  @Test
  void batchedDecoderMatchesTheCachedDecoder(@TempDir Path dir) {
    TinyPack.write(dir, spec(), 5);
    try (TrainablePack pack = TrainablePack.open(dir);
        NDManager m = NDManager.newBaseManager()) {
      LlamaModel llm = pack.llm();
      Random r = new Random(1);
      int t = 11;
      int[][] ids = new int[2][t];
      for (int[] row : ids) {
        for (int i = 0; i < t; i++) {
          row[i] = r.nextInt(llm.vocabSize());
        }
      }
      NDArray x = llm.embed(m, ids[0]).expandDims(0).concat(llm.embed(m, ids[1]).expandDims(0), 0);
      float[] batched = llm.logits(x).toFloatArray();
      int v = llm.vocabSize();
      for (int b = 0; b < 2; b++) {
        try (KvCache cache = llm.newCache(t)) {
          float[] single = llm.forward(llm.embed(m, ids[b]), cache).toFloatArray();
          double maxDiff = 0;
          for (int i = 0; i < single.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(single[i] - batched[b * t * v + i]));
          }
          assertTrue(maxDiff < 1e-4, "row " + b + " max |diff| " + maxDiff);
        }
      }
    }
  }

  @Test
  void visionPathMatchesInferenceAndGradientsReachTheViT(@TempDir Path dir) {
    TinyPack.write(dir, spec(), 6);
    try (TrainablePack pack = TrainablePack.open(dir);
        NDManager m = NDManager.newBaseManager();
        LlavaNextVideo model = LlavaNextVideo.load(dir, LlavaNextVideo.Part.VISION)) {
      List<RgbImage> frames = solid(2, 200, 30, 30);
      VideoQaForward fwd = new VideoQaForward(pack);
      ExampleEncoder.Encoded e = fwd.encoder().encode(frames, "what color is the circle ?", "red");
      // inference features of the same frames, pooled as the encoder does, equal the training
      // path's
      List<float[]> feats = model.visionFeatures(frames);
      float[] pooled = AdaptivePool2d.pool(feats.get(0), 4, 4, 16, 2, 2, PoolingMode.AVG);
      NDArray train =
          pack.tower()
              .forward(
                  m.create(
                      java.util.Arrays.copyOf(e.pixels(), 3 * 28 * 28),
                      new ai.djl.ndarray.types.Shape(1, 3, 28, 28)),
                  pack.config().visionHiddenStateIndex(),
                  true);
      float[] t =
          train.reshape(1, 2, 2, 2, 2, 16).mean(new int[] {4}).mean(new int[] {2}).toFloatArray();
      for (int i = 0; i < pooled.length; i++) {
        assertEquals(pooled[i], t[i], 1e-5);
      }
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        VideoQaForward.Result r = fwd.forward(m, List.of(e));
        gc.backward(r.loss());
      }
      NDArray patch =
          pack.parameters().get("vision_tower.vision_model.embeddings.patch_embedding.weight");
      assertTrue(
          AdamW.gradientOf(patch).abs().sum().getFloat() > 0,
          "the loss reaches the patch embedding");
    }
  }

  @Test
  void learnsATinyColourTaskAndTheSavedPackAnswers(@TempDir Path dir) {
    TinyPack.write(dir.resolve("init"), spec(), 7);
    Path out = dir.resolve("trained");
    String q = "what color is the circle ?";
    List<List<RgbImage>> videos = List.of(solid(2, 220, 30, 30), solid(2, 40, 80, 220));
    List<String> answers = List.of("red", "blue");
    try (TrainablePack pack = TrainablePack.open(dir.resolve("init"));
        NDManager m = NDManager.newBaseManager()) {
      VideoQaForward fwd = new VideoQaForward(pack);
      List<ExampleEncoder.Encoded> batch =
          List.of(
              fwd.encoder().encode(videos.get(0), q, answers.get(0)),
              fwd.encoder().encode(videos.get(1), q, answers.get(1)));
      AdamW opt =
          new AdamW(
              pack.parameters(),
              0.9,
              0.99,
              1e-8,
              0.01,
              n -> AdamW.decaysByDefault(n, pack.parameters().get(n)));
      double first = 0;
      double last = 0;
      for (int step = 1; step <= 60; step++) {
        try (NDManager sm = m.newSubManager();
            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          VideoQaForward.Result r = fwd.forward(sm, batch);
          gc.backward(r.loss());
          last = r.loss().getFloat();
          if (step == 1) {
            first = last;
          }
        }
        opt.clipGlobalNorm(1.0);
        opt.update(3e-3);
      }
      assertTrue(last < first * 0.2, "loss " + first + " -> " + last);
      pack.save(out, Map.of("steps", "60"));
    }
    // the saved pack, loaded by the inference facade, answers both videos right
    try (LlavaNextVideo model = LlavaNextVideo.load(out, LlavaNextVideo.Part.ALL)) {
      for (int i = 0; i < 2; i++) {
        List<float[]> pooled = new ArrayList<>();
        for (float[] f : model.visionFeatures(videos.get(i))) {
          pooled.add(AdaptivePool2d.pool(f, 4, 4, 16, 2, 2, PoolingMode.AVG));
        }
        GenerationResult r =
            model.generate(new VideoPrompt(pooled, 4, q), GenerationOptions.greedy(4));
        assertEquals(answers.get(i), r.text().trim(), "video " + i);
      }
    }
  }
}
