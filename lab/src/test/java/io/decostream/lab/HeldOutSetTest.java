package io.decostream.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.pytorch.jni.JniUtils;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.AnswerGrounding;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.rgae.TextToPatch;
import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.Tensors;
import io.decostream.shapes.Answers;
import io.decostream.shapes.GroundingCheck;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.Questions;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapesRenderer;
import io.decostream.shapes.ShapesWorld;
import io.decostream.shapes.VideoSpec;
import io.decostream.shapes.WideClips;
import io.decostream.shapes.Window;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the shipped model ({@code models/shapes-demo}) must keep on a small fixed held-out set, in
 * the default test run: accuracy per question type and the colour questions' grounding share.
 *
 * <p>The set is the first {@link #VIDEOS} videos of {@code deco eval}'s held-out set (base seed
 * {@link #SEED}, video i = {@code SceneGenerator.generate(ShapesWorld.videoSeed(SEED, i), 16)}),
 * asked exactly what {@code deco eval} asks them ({@code Questions.samplePerType} with the same
 * random stream, checked with {@code Answers.matches}), on the window the worker holds once the
 * clip is encoded (frames 0..15). Instead of the Kafka pipeline the frames are rendered straight
 * into the model facade (no H.264), the way the encoder and the worker use it: CLIP features, DeCo
 * average pooling to the model's 6x6 grid, F16 tokens, greedy answers of at most 8 tokens, and for
 * colour questions the R-GAE map of the answer mapped to the 12x12 patches by average pooling's
 * Query-to-Patch, scored by {@code deco eval}'s grounding check. PyTorch runs on one intra-op
 * thread here (restored afterwards), so the figures are the same on any machine and the run is not
 * slowed by threads fighting over shared cores (about 20-60 s on 2 cores).
 */
@Timeout(300)
class HeldOutSetTest {

  /** deco eval's default base seed. */
  static final long SEED = 1_000_003L;

  static final int VIDEOS = 20;

  static final Path PACK = Path.of("../models/shapes-demo");

  /** What one asked question got. */
  record Result(QaPair qa, String answer, boolean correct, double share) {}

  static List<Result> results;

  @BeforeAll
  static void answerTheSet() {
    results = run(PACK, SEED, VIDEOS);
    System.out.println(describe(results));
  }

  static List<Result> run(Path pack, long seed, int videos) {
    List<WideClips.Clip> clips = new ArrayList<>();
    for (int i = 0; i < videos; i++) {
      clips.add(
          new WideClips.Clip(
              VideoSpec.defaults(), SceneGenerator.generate(ShapesWorld.videoSeed(seed, i), 16)));
    }
    return run(pack, seed, clips);
  }

  /**
   * Answers {@code clips} (clip i's questions drawn as deco eval draws them from base seed {@code
   * seed}), each rendered at its own size, about the window ending at its last sampled second.
   */
  static List<Result> run(Path pack, long seed, List<WideClips.Clip> clips) {
    assertTrue(Files.isRegularFile(pack.resolve("model.safetensors")), "the shipped model");
    List<Result> out = new ArrayList<>();
    try (LlavaNextVideo model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.ALL)) {
      int threads = JniUtils.getNumThreads();
      JniUtils.setNumThreads(1);
      try {
        answer(model, seed, clips, out);
      } finally {
        JniUtils.setNumThreads(threads);
      }
    }
    return out;
  }

  static void answer(
      LlavaNextVideo model, long seed, List<WideClips.Clip> clips, List<Result> out) {
    int grid = model.visionGridSize();
    int dim = model.visionHidden();
    TokenCompressor deco = TokenCompressor.deco(model.defaultPooledGrid());
    int tpf = deco.tokens();
    QueryToPatch qtp = QueryToPatch.adaptiveAvg(grid, grid, deco.outH(), deco.outW());
    for (int i = 0; i < clips.size(); i++) {
      long videoSeed = ShapesWorld.videoSeed(seed, i);
      Scene scene = clips.get(i).scene();
      VideoSpec spec = clips.get(i).spec();
      int lastSecond = spec.lastSampledSecond();
      Window window = Window.latest(lastSecond, ShapesWorld.MAX_WINDOW_FRAMES);
      List<RgbImage> images = new ArrayList<>();
      for (int t = (int) window.startSeconds(); t <= lastSecond; t++) {
        int w = spec.width();
        int h = spec.height();
        images.add(new RgbImage(w, h, ShapesRenderer.renderRgb(scene, t, w, h)));
      }
      // the encoder: pool each frame's patch grid, ship F16 tokens
      List<float[]> frames = new ArrayList<>();
      for (float[] f : model.visionFeatures(images)) {
        frames.add(Tensors.fromF16(Tensors.toF16(deco.compress(f, grid, grid, dim))));
      }
      SplittableRandom rnd = new SplittableRandom(videoSeed ^ 0x51ED);
      for (QaPair qa : Questions.samplePerType(scene, window, rnd)) {
        VideoPrompt prompt = new VideoPrompt(frames, tpf, qa.question());
        GenerationResult r = model.generate(prompt, GenerationOptions.greedy(8));
        String text = r.text();
        double share = Double.NaN;
        if (qa.type() == QuestionType.COLOR && r.tokenIds().length > 0) {
          AnswerGrounding g = model.explain(prompt, r.tokenIds());
          float[][] maps = TextToPatch.perFrame(g.mean(), frames.size(), qtp);
          // the grounding check of deco eval: the latest frame's share inside the grown box
          float[] latest = maps[maps.length - 1];
          share =
              GroundingCheck.of(scene, qa, lastSecond, grid, grid)
                  .map(c -> c.shareInside(latest))
                  .orElse(Double.NaN);
        }
        out.add(new Result(qa, text, Answers.matches(text, qa.answer()), share));
      }
    }
  }

  static Map<QuestionType, int[]> perType(List<Result> rs) {
    Map<QuestionType, int[]> m = new LinkedHashMap<>();
    for (QuestionType t : QuestionType.values()) {
      m.put(t, new int[2]);
    }
    for (Result r : rs) {
      int[] c = m.get(r.qa().type());
      c[1]++;
      c[0] += r.correct() ? 1 : 0;
    }
    return m;
  }

  static String describe(List<Result> rs) {
    StringBuilder b = new StringBuilder();
    perType(rs)
        .forEach(
            (t, c) -> b.append(String.format(Locale.ROOT, "%s %d/%d  ", t.label(), c[0], c[1])));
    double[] shares =
        rs.stream().mapToDouble(Result::share).filter(s -> !Double.isNaN(s)).toArray();
    b.append(
        String.format(
            Locale.ROOT,
            "%ngrounding: %d maps, mean share %.2f%%, %d >= 80%%%n",
            shares.length,
            100 * java.util.Arrays.stream(shares).average().orElse(Double.NaN),
            java.util.Arrays.stream(shares).filter(s -> s >= 0.8).count()));
    for (Result r : rs) {
      if (!r.correct()) {
        b.append(
            String.format(
                "  wrong: %s -> \"%s\" (expected \"%s\")%n",
                r.qa().question(), r.answer(), r.qa().answer()));
      }
    }
    return b.toString();
  }

  /**
   * Must-keep figures: per type at most one answer fewer than measured, the mean share at most 2
   * points below. Measured on this set with one intra-op thread (the test pins it, so the figures
   * do not depend on the machine's cores; with 2 threads they were the same): color 18/18, shape
   * 20/20, count 20/20, position 19/20, motion 19/20, yesno 19/20 (the three misses are deco eval's
   * eval-0002, eval-0003 and eval-0014 of docs/shapes-eval.md: "bottom left" for bottom, "yes" for
   * an absent blue square, "down" for left). {correct, asked} per type, in QuestionType order.
   */
  static final Map<QuestionType, int[]> MEASURED =
      Map.of(
          QuestionType.COLOR, new int[] {18, 18},
          QuestionType.SHAPE, new int[] {20, 20},
          QuestionType.COUNT, new int[] {20, 20},
          QuestionType.POSITION, new int[] {19, 20},
          QuestionType.MOTION, new int[] {19, 20},
          QuestionType.EXISTS, new int[] {19, 20});

  /** Measured: 18 colour answers grounded, mean share 93.52%, 17 of them with at least 80%. */
  static final double MEASURED_MEAN_SHARE = 0.9352;

  static final int MEASURED_AT_LEAST_80 = 17;

  @Test
  void everyQuestionTypeKeepsItsAccuracyWithinOneAnswer() {
    String figures = describe(results);
    Map<QuestionType, int[]> got = perType(results);
    for (QuestionType t : QuestionType.values()) {
      int[] want = MEASURED.get(t);
      int[] c = got.get(t);
      // the set and its questions come from ShapesWorld alone: exactly as many asked as measured
      assertEquals(want[1], c[1], t.label() + " questions asked\n" + figures);
      assertTrue(
          c[0] >= want[0] - 1,
          t.label() + ": " + c[0] + " of " + c[1] + " right, measured " + want[0] + "\n" + figures);
    }
  }

  @Test
  void colourAnswersStillLookAtTheShapeTheyName() {
    String figures = describe(results);
    double[] shares =
        results.stream()
            .filter(r -> r.qa().type() == QuestionType.COLOR)
            .mapToDouble(Result::share)
            .toArray();
    assertEquals(MEASURED.get(QuestionType.COLOR)[1], shares.length, figures);
    for (double s : shares) {
      assertTrue(!Double.isNaN(s), "every colour answer has a map with positive mass\n" + figures);
    }
    double mean = java.util.Arrays.stream(shares).average().orElseThrow();
    assertTrue(
        mean >= MEASURED_MEAN_SHARE - 0.02,
        String.format(
            Locale.ROOT,
            "mean grounding share %.2f%%, measured %.2f%%%n%s",
            100 * mean,
            100 * MEASURED_MEAN_SHARE,
            figures));
    long atLeast80 = java.util.Arrays.stream(shares).filter(s -> s >= 0.8).count();
    assertTrue(
        atLeast80 >= MEASURED_AT_LEAST_80 - 1,
        atLeast80
            + " maps with at least 80% inside, measured "
            + MEASURED_AT_LEAST_80
            + "\n"
            + figures);
  }
}
