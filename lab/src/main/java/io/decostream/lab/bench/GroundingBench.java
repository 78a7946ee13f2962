package io.decostream.lab.bench;

import io.decostream.nn.llava.AnswerGrounding;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
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

  /**
   * Writes the pack into {@code workDir}, then times {@code repeats} ungrounded answers and their
   * explanation after {@code warmups} untimed runs.
   */
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
      List<float[]> feats = randomFeatures(frames, m * spec.visionHidden(), seed);
      VideoPrompt prompt = new VideoPrompt(feats, m, "what color is the circle?");
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
      Answered answered =
          timeAnswers(model, prompt, GenerationOptions.greedy(newTokens), warmups, repeats);
      int[] ids = answered.last().tokenIds();
      if (ids.length == 0) {
        throw new IllegalStateException(
            "the random model generated nothing to explain; try another seed");
      }
      Timed explain = timeExplain(model, prompt, ids, warmups, repeats);
      return new Result(
          frames,
          m,
          answered.last().promptTokens(),
          ids.length,
          textParams(spec, model.config().textConfig().vocabSize()),
          answered.times().stat(),
          explain.stat(),
          answered.times().peakRssKb(),
          explain.peakRssKb());
    }
  }

  /** Random pooled features, one array per frame (standard normal): the prompt's visual input. */
  private static List<float[]> randomFeatures(int frames, int floatsPerFrame, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<float[]> feats = new ArrayList<>();
    for (int f = 0; f < frames; f++) {
      float[] x = new float[floatsPerFrame];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
      feats.add(x);
    }
    return feats;
  }

  /** Timing samples of one path and the peak RSS while they ran. */
  private record Timed(List<Double> ms, long peakRssKb) {
    ModelBench.Stat stat() {
      return new ModelBench.Stat(ms);
    }
  }

  /** The ungrounded answers' timings and the last answer (the one the explanation explains). */
  private record Answered(Timed times, GenerationResult last) {}

  /** The ungrounded path: prefill and greedy decode with the KV cache, no taps. */
  private static Answered timeAnswers(
      LlavaNextVideo model,
      VideoPrompt prompt,
      GenerationOptions greedy,
      int warmups,
      int repeats) {
    GenerationResult last = null;
    for (int i = 0; i < warmups; i++) {
      last = model.generate(prompt, greedy);
    }
    ModelBench.resetPeak();
    List<Double> answer = new ArrayList<>();
    for (int i = 0; i < repeats; i++) {
      long t0 = System.nanoTime();
      last = model.generate(prompt, greedy);
      answer.add((System.nanoTime() - t0) / 1e6);
    }
    return new Answered(new Timed(answer, ModelBench.peakRssKb()), last);
  }

  /**
   * The grounding's extra cost: one tapped forward + backward per generated token (spec §7.5),
   * checked to explain every token.
   */
  private static Timed timeExplain(
      LlavaNextVideo model, VideoPrompt prompt, int[] ids, int warmups, int repeats) {
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
    return new Timed(explain, ModelBench.peakRssKb());
  }

  /** Llama parameters: attention and MLP matrices per layer, plus embedding and LM head. */
  private static long textParams(TinyPack.Spec spec, int vocabSize) {
    return (long) spec.textLayers()
            * (4L * spec.textHidden() * spec.textHidden()
                + 3L * spec.textHidden() * spec.textIntermediate())
        + 2L * vocabSize * spec.textHidden();
  }
}
