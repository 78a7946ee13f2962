package io.decostream.lab.bench;

import io.decostream.nn.llava.AnswerGrounding;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.LlavaNextVideo;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.tiny.TinyPack;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The cost of R-GAE grounding (issue 4, "Cost"): on one llava_next_video pack with random weights,
 * the time and peak memory of an ungrounded answer (prefill + greedy decode with the KV cache) next
 * to a grounded one (the same answer, then one tapped forward + backward per generated token, spec
 * §7.5). The ungrounded path is the untouched inference path: the taps live in a separate method
 * ({@code LlamaModel.forwardTapped}), so answers that do not ask for grounding do no extra work.
 */
public final class GroundingBench {

  private GroundingBench() {}

  /**
   * Figures of one run.
   *
   * @param answerPeakRssKb peak RSS while answering (ungrounded), KiB, -1 if unreadable
   * @param groundedPeakRssKb peak RSS while explaining, KiB
   */
  public record Result(
      int frames,
      int tokensPerFrame,
      int promptTokens,
      int generatedTokens,
      long textParams,
      ModelBench.Stat ungrounded,
      ModelBench.Stat explain,
      long answerPeakRssKb,
      long groundedPeakRssKb) {

    /** Median grounded answer: the answer plus its explanation. */
    public double groundedMedianMs() {
      return ungrounded.medianMs() + explain.medianMs();
    }
  }

  /**
   * The pack the benchmark uses: CLIP sized as the tiny pack, a Llama of about 25M parameters,
   * context 4096.
   */
  public static TinyPack.Spec spec(boolean quick) {
    return quick
        ? new TinyPack.Spec(
            56, 14, 32, 64, 2, 2, 64, 128, 2, 4, 2, 1024, 10000.0, -1, 2, DType.F32, 0.02)
        : new TinyPack.Spec(
            336, 14, 64, 128, 3, 4, 512, 1376, 8, 8, 8, 4096, 10000.0, -2, 2, DType.F32, 0.02);
  }

  public static Result run(
      Path workDir,
      boolean quick,
      int frames,
      int newTokens,
      int warmups,
      int repeats,
      long seed,
      Consumer<String> log) {
    Path pack = workDir.resolve("grounding-pack");
    TinyPack.Spec spec = spec(quick);
    TinyPack.write(pack, spec, seed);
    try (LlavaNextVideo model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.LANGUAGE)) {
      int m = model.defaultPooledGrid() * model.defaultPooledGrid();
      int dv = spec.visionHidden();
      SplittableRandom r = new SplittableRandom(seed);
      List<float[]> feats = new ArrayList<>();
      for (int f = 0; f < frames; f++) {
        float[] x = new float[m * dv];
        for (int i = 0; i < x.length; i++) {
          x[i] = (float) r.nextGaussian();
        }
        feats.add(x);
      }
      VideoPrompt prompt = new VideoPrompt(feats, m, "what color is the circle?");
      GenerationOptions greedy = GenerationOptions.greedy(newTokens);
      log.accept(
          "grounding: "
              + frames
              + " frames x "
              + m
              + " tokens, "
              + newTokens
              + " new tokens, Llama "
              + spec.textLayers()
              + " x "
              + spec.textHidden());
      GenerationResult[] last = new GenerationResult[1];
      for (int i = 0; i < warmups; i++) {
        last[0] = model.generate(prompt, greedy);
      }
      ModelBench.resetPeak();
      List<Double> answer = new ArrayList<>();
      for (int i = 0; i < repeats; i++) {
        long t0 = System.nanoTime();
        last[0] = model.generate(prompt, greedy);
        answer.add((System.nanoTime() - t0) / 1e6);
      }
      long answerPeak = ModelBench.peakRssKb();
      int[] ids = last[0].tokenIds();
      if (ids.length == 0) {
        throw new IllegalStateException(
            "the random model generated nothing to explain; try another seed");
      }
      for (int i = 0; i < Math.min(1, warmups); i++) {
        model.explain(prompt, ids);
      }
      ModelBench.resetPeak();
      List<Double> explain = new ArrayList<>();
      for (int i = 0; i < repeats; i++) {
        long t0 = System.nanoTime();
        AnswerGrounding g = model.explain(prompt, ids);
        explain.add((System.nanoTime() - t0) / 1e6);
        if (g.textToQuery().length != ids.length) {
          throw new IllegalStateException(
              "explained " + g.textToQuery().length + " of " + ids.length + " tokens");
        }
      }
      long groundedPeak = ModelBench.peakRssKb();
      long params =
          (long) spec.textLayers()
                  * (4L * spec.textHidden() * spec.textHidden()
                      + 3L * spec.textHidden() * spec.textIntermediate())
              + 2L * model.config().textConfig().vocabSize() * spec.textHidden();
      return new Result(
          frames,
          m,
          last[0].promptTokens(),
          ids.length,
          params,
          new ModelBench.Stat(answer),
          new ModelBench.Stat(explain),
          answerPeak,
          groundedPeak);
    }
  }
}
