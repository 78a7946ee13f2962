package io.decostream.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapesDataset;
import io.decostream.shapes.ShapesWorld;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * The paper's projector comparison (DeCo Table 1 / Fig. 5) in miniature (issue 5, point 5). Every
 * variant gets the same vision tower and LLM (taken from a trained pack), a freshly initialised
 * connector, the same data and the same step budget, in the paper's two stages: <b>align</b>
 * (connector only, ViT and LLM frozen, captions) then <b>tune</b> (connector + LLM, ViT frozen,
 * questions plus some captions). Each run then answers a fixed held-out set of ShapesWorld
 * questions; an answer counts when greedy decoding yields exactly the expected answer (computed as
 * every target token being the teacher-forced argmax, which is the same thing).
 *
 * <p>A run writes {@code <out>/<variant>-s<seed>/log.jsonl}, its trained weights ({@link
 * RunWeights}: connector and LLM, for the R-GAE analysis) and {@code result.json}; a run whose
 * result exists is not redone, and a run interrupted in stage 2 continues from its last checkpoint
 * ({@link RunCheckpoint}), so an interrupted comparison resumes where it stopped.
 */
public final class ProjectorComparison {

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * @param base the trained pack whose vision tower and LLM every variant shares
   * @param out run directory
   * @param variants variant names (see {@link ComparisonVariants#names()})
   * @param seeds one run per seed and variant (the seed draws the connector's weights and the data)
   * @param alignSteps stage-1 steps (connector only, captions)
   * @param tuneSteps stage-2 steps (connector + LLM)
   * @param batch examples per step
   * @param frames frames per window (one count for every variant, so token counts compare)
   * @param alignLr stage-1 peak learning rate
   * @param tuneLr stage-2 peak learning rate
   * @param captionFraction share of caption examples in stage 2
   * @param captionPrompt the worker's caption instruction
   * @param evalScenes held-out scenes (one question of each askable type per scene)
   * @param evalSeed base seed of the held-out scenes (disjoint from training, which draws fresh
   *     scenes per step)
   * @param logEvery steps between progress lines
   * @param checkEvery stage-2 steps between accuracy checks, each also a checkpoint the run resumes
   *     from after an interruption (0: neither)
   * @param checkScenes held-out scenes each check answers (the first of the held-out set)
   */
  public record Settings(
      Path base,
      Path out,
      List<String> variants,
      List<Long> seeds,
      int alignSteps,
      int tuneSteps,
      int batch,
      int frames,
      double alignLr,
      double tuneLr,
      double captionFraction,
      String captionPrompt,
      int evalScenes,
      long evalSeed,
      int logEvery,
      int checkEvery,
      int checkScenes) {

    public Settings {
      Objects.requireNonNull(base, "base");
      Objects.requireNonNull(out, "out");
      variants = List.copyOf(variants);
      seeds = List.copyOf(seeds);
      Objects.requireNonNull(captionPrompt, "captionPrompt");
      for (String v : variants) {
        ComparisonVariants.get(v);
      }
      if (variants.isEmpty()
          || seeds.isEmpty()
          || alignSteps < 0
          || tuneSteps < 1
          || batch < 1
          || frames < 1
          || frames > ShapesWorld.MAX_WINDOW_FRAMES
          || !(alignLr > 0)
          || !(tuneLr > 0)
          || captionFraction < 0
          || captionFraction > 1
          || evalScenes < 1
          || logEvery < 1
          || checkEvery < 0
          || checkScenes < 1) {
        throw new IllegalArgumentException("invalid comparison settings: " + this);
      }
    }
  }

  /**
   * What one run measured.
   *
   * @param connectorParameters trainable scalars of the connector (stage 1)
   * @param tunedParameters trainable scalars in stage 2 (connector + LLM)
   * @param tokensPerFrame LLM rows per frame in this miniature
   * @param paperTokensPerFrame the same variant's rows per frame at the paper's scale (CLIP-L/336,
   *     576 patches)
   * @param secondsPerStep wall time of a stage-2 step: the median over the logged intervals (checks
   *     left out), so a pause or other load for part of the run does not move it
   * @param correct correct answers per question type
   * @param asked questions per question type
   * @param curve (step, loss) of every logged step of both stages, steps counted across the stages
   * @param accuracyCurve (step, overall, position, motion accuracy) of every stage-2 check on the
   *     first {@code checkScenes} held-out scenes, steps counted as in {@code curve}; empty for
   *     runs made before checks existed
   */
  public record RunResult(
      String variant,
      long seed,
      long connectorParameters,
      long tunedParameters,
      int tokensPerFrame,
      int paperTokensPerFrame,
      double secondsPerStep,
      Map<String, Integer> correct,
      Map<String, Integer> asked,
      List<double[]> curve,
      List<double[]> accuracyCurve) {

    public RunResult {
      accuracyCurve = accuracyCurve == null ? List.of() : accuracyCurve;
    }

    /** Accuracy over every question. */
    public double overall() {
      int c = correct.values().stream().mapToInt(Integer::intValue).sum();
      int a = asked.values().stream().mapToInt(Integer::intValue).sum();
      return a == 0 ? Double.NaN : (double) c / a;
    }
  }

  private final Settings settings;
  private final PrintStream progress;

  /** Called after each stage-2 check with its step; a test interrupts a run here. */
  private IntConsumer afterCheck = step -> {};

  public ProjectorComparison(Settings settings, PrintStream progress) {
    this.settings = settings;
    this.progress = progress;
  }

  /** Test hook: {@code hook} runs after each stage-2 check (and its checkpoint). */
  ProjectorComparison afterCheck(IntConsumer hook) {
    this.afterCheck = Objects.requireNonNull(hook);
    return this;
  }

  /** Runs (or reloads) every variant x seed, in order. */
  public List<RunResult> run() {
    List<RunResult> results = new ArrayList<>();
    for (String variant : settings.variants()) {
      for (long seed : settings.seeds()) {
        results.add(runOne(variant, seed));
      }
    }
    return results;
  }

  private RunResult runOne(String variantName, long seed) {
    Path dir = settings.out().resolve(variantName + "-s" + seed);
    Path resultFile = dir.resolve("result.json");
    RunResult done = resumeOrPrepare(variantName, seed, dir, resultFile);
    if (done != null) {
      return done;
    }
    ComparisonVariants.Variant variant = ComparisonVariants.get(variantName);
    try (TrainablePack pack = TrainablePack.open(settings.base());
        NDManager cm = pack.manager().newSubManager()) {
      // the ViT and LLM come from the base pack; nothing of the pack trains unless a stage says so
      pack.parameters().values().forEach(p -> p.setRequiresGradient(false));
      double visionBefore = visionChecksum(pack);
      Connector connector = variant.build(cm, pack.config(), seed);
      Map<String, NDArray> connectorParams = connector.parameters();
      VideoQaForward fwd = new VideoQaForward(pack, connector);
      long connectorCount = count(connectorParams);
      progress.printf(
          "== %s seed %d: %s; %d tokens per frame, %,d connector parameters%n",
          variantName, seed, variant.description(), connector.tokensPerFrame(), connectorCount);
      List<double[]> curve = new ArrayList<>();
      List<double[]> accuracy = new ArrayList<>();
      RunCheckpoint.Found resume = RunCheckpoint.latest(dir, settingsKey());
      if (resume == null) {
        connectorParams.values().forEach(p -> p.setRequiresGradient(true));
        align(fwd, connectorParams, seed, curve, dir);
      } else {
        // stage 1 is inside the checkpoint: the weights continue from its last stage-2 step
        Map<String, NDArray> all = new LinkedHashMap<>(connectorParams);
        all.putAll(pack.languageModelParameters());
        RunCheckpoint.loadParams(resume, all);
        connectorParams.values().forEach(p -> p.setRequiresGradient(true));
        progress.printf(
            "  resuming stage 2 after step %d/%d (%s)%n",
            resume.state().step(), settings.tuneSteps(), resume.dir());
      }
      Map<String, NDArray> tuned = withLanguageModel(connectorParams, pack);
      double secPerStep = tune(fwd, tuned, seed, curve, accuracy, dir, resume);
      if (visionChecksum(pack) != visionBefore) {
        throw new IllegalStateException(
            "the vision tower changed although every variant must share it frozen");
      }
      Map<String, Integer> correct = new LinkedHashMap<>();
      Map<String, Integer> asked = new LinkedHashMap<>();
      evaluate(fwd, correct, asked);
      RunResult r =
          new RunResult(
              variantName,
              seed,
              connectorCount,
              count(tuned),
              connector.tokensPerFrame(),
              variant.paperTokensPerFrame(),
              secPerStep,
              correct,
              asked,
              curve,
              accuracy);
      progress.printf(
          "== %s seed %d: %.1f%% of %d held-out questions %s%n",
          variantName,
          seed,
          100 * r.overall(),
          asked.values().stream().mapToInt(Integer::intValue).sum(),
          perType(r));
      // the trained weights first, then the result: a run with a result always has its weights
      RunWeights.save(dir, connectorParams, pack.languageModelParameters());
      JSON.writerWithDefaultPrettyPrinter().writeValue(resultFile.toFile(), r);
      RunCheckpoint.clear(dir);
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * What a checkpoint must agree on to be resumed: everything that shapes a run's steps (the
   * variant and seed are its directory).
   */
  private String settingsKey() {
    return String.format(
        Locale.ROOT,
        "base=%s align=%d tune=%d batch=%d frames=%d alignLr=%s tuneLr=%s captions=%s check=%d/%d"
            + " eval=%d",
        settings.base().toAbsolutePath().normalize(),
        settings.alignSteps(),
        settings.tuneSteps(),
        settings.batch(),
        settings.frames(),
        settings.alignLr(),
        settings.tuneLr(),
        settings.captionFraction(),
        settings.checkEvery(),
        settings.checkScenes(),
        settings.evalSeed());
  }

  /**
   * A run already finished (its result.json exists) is read back, so an interrupted comparison
   * resumes where it stopped; otherwise the run's directory is made ready and null returned (its
   * stage-2 checkpoint, if any, is kept for {@link #runOne}).
   */
  private RunResult resumeOrPrepare(String variantName, long seed, Path dir, Path resultFile) {
    try {
      if (Files.isRegularFile(resultFile)) {
        progress.printf(
            "%s seed %d: already done (%s)%s%n",
            variantName,
            seed,
            resultFile,
            RunWeights.saved(dir) ? "" : "; no saved weights (finished before runs kept them)");
        return JSON.readValue(resultFile.toFile(), RunResult.class);
      }
      Files.createDirectories(dir);
      if (RunCheckpoint.latest(dir, settingsKey()) == null) {
        Files.deleteIfExists(dir.resolve("log.jsonl"));
      }
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Stage 1, align: the connector alone learns to describe (captions), as the paper's pre-training
   * stage; skipped when --align-steps is 0.
   */
  private void align(
      VideoQaForward fwd,
      Map<String, NDArray> connectorParams,
      long seed,
      List<double[]> curve,
      Path dir) {
    if (settings.alignSteps() > 0) {
      train(
          fwd,
          connectorParams,
          new Stage(
              "align",
              settings.alignSteps(),
              settings.alignLr(),
              new ShapesExamples(1.0, settings.captionPrompt()),
              seed,
              0),
          curve,
          null,
          dir,
          null);
    }
  }

  /** What stage 2 trains: the connector and the LLM; the ViT stays frozen as in the paper. */
  private static Map<String, NDArray> withLanguageModel(
      Map<String, NDArray> connectorParams, TrainablePack pack) {
    Map<String, NDArray> tuned = new LinkedHashMap<>(connectorParams);
    Map<String, NDArray> llm = pack.languageModelParameters();
    llm.values().forEach(p -> p.setRequiresGradient(true));
    tuned.putAll(llm);
    return tuned;
  }

  /**
   * Stage 2, tune: connector + LLM on questions (and some captions), its steps numbered after stage
   * 1's on the curve, with accuracy checks and checkpoints every {@code checkEvery} steps, from
   * {@code resume} when given; the mean seconds per step.
   */
  private double tune(
      VideoQaForward fwd,
      Map<String, NDArray> tuned,
      long seed,
      List<double[]> curve,
      List<double[]> accuracy,
      Path dir,
      RunCheckpoint.Found resume) {
    return train(
        fwd,
        tuned,
        new Stage(
            "tune",
            settings.tuneSteps(),
            settings.tuneLr(),
            new ShapesExamples(settings.captionFraction(), settings.captionPrompt()),
            seed + 1_000_003L,
            settings.alignSteps()),
        curve,
        accuracy,
        dir,
        resume);
  }

  /**
   * One training stage.
   *
   * @param seed draws each step's batch (step by step, so a resumed stage sees the same data)
   * @param stepOffset added to the stage's steps on the curves (stage 2 follows stage 1)
   */
  private record Stage(
      String name, int steps, double peakLr, ExampleSource source, long seed, int stepOffset) {}

  /**
   * One stage; returns the mean seconds per step (checks excluded). Same step as {@link Trainer}:
   * clip, skip non-finite, AdamW. With {@code accuracy} (stage 2) it checks the held-out accuracy
   * every {@code checkEvery} steps and at the end, and leaves a checkpoint after each check but the
   * last; with {@code resume} it continues after the checkpoint's step.
   */
  private double train(
      VideoQaForward fwd,
      Map<String, NDArray> params,
      Stage stage,
      List<double[]> curve,
      List<double[]> accuracy,
      Path dir,
      RunCheckpoint.Found resume) {
    // learned queries and position embeddings are not decayed (as BLIP-2 / Honeybee train them)
    AdamW opt =
        new AdamW(
            params,
            0.9,
            0.98,
            1e-8,
            0.01,
            n ->
                AdamW.decaysByDefault(n, params.get(n))
                    && !n.endsWith("query_tokens")
                    && !n.endsWith("pos_emb"));
    int steps = stage.steps();
    LrSchedule lr = new LrSchedule(stage.peakLr(), Math.max(1, steps / 10), steps, 0.1);
    double ema = Double.NaN;
    double before = 0;
    int done = 0;
    int first = 1;
    if (resume != null) {
      opt.load(resume.dir().resolve(RunCheckpoint.ADAM));
      RunCheckpoint.State s = resume.state();
      first = s.step() + 1;
      ema = s.ema();
      before = s.seconds();
      done = s.done();
      curve.clear();
      curve.addAll(s.curve());
      accuracy.clear();
      accuracy.addAll(s.accuracy());
    }
    long t0 = System.nanoTime();
    long checking = 0;
    // wall time per step of each logged interval, checks left out: their median is the run's time
    // per step, which a pause or a burst of other load on the machine does not move
    List<Double> intervals = new ArrayList<>();
    long intervalStart = t0;
    int intervalFrom = first;
    for (int step = first; step <= steps; step++) {
      SplittableRandom rng = new SplittableRandom(stage.seed() * 0x9E3779B97F4A7C15L + step);
      List<ExampleEncoder.Encoded> batch = new ArrayList<>(settings.batch());
      for (int i = 0; i < settings.batch(); i++) {
        Example e = stage.source().next(rng, settings.frames());
        batch.add(fwd.encoder().encode(e.frames(), e.question(), e.target()));
      }
      float loss;
      try (NDManager m = fwd.manager().newSubManager();
          GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        VideoQaForward.Result r = fwd.forward(m, batch);
        loss = r.loss().getFloat();
        gc.backward(r.loss());
      }
      double norm = opt.clipOrSkip(loss, 1.0, new ArrayList<>());
      if (!Double.isFinite(norm)) {
        progress.printf(
            "  %s step %d: non-finite %s, batch skipped%n",
            stage.name(), step, Float.isFinite(loss) ? "gradient" : "loss");
      } else {
        opt.update(lr.at(step));
        done++;
        ema = Double.isNaN(ema) ? loss : 0.9 * ema + 0.1 * loss;
      }
      double seconds = before + (System.nanoTime() - t0 - checking) / 1e9;
      if (Double.isFinite(norm) && (step % settings.logEvery() == 0 || step == steps)) {
        double sec = seconds / Math.max(1, done);
        curve.add(new double[] {stage.stepOffset() + step, ema});
        progress.printf(
            "  %s %s step %d/%d  loss %.4f  %.2f s/step%n",
            stage.name(), Trainer.bar(step, steps), step, steps, ema, sec);
        appendLog(dir, stage.name(), stage.stepOffset() + step, loss, ema, sec);
        intervals.add((System.nanoTime() - intervalStart) / 1e9 / (step - intervalFrom + 1));
        intervalStart = System.nanoTime();
        intervalFrom = step + 1;
      }
      if (accuracy != null
          && settings.checkEvery() > 0
          && (step % settings.checkEvery() == 0 || step == steps)) {
        long c0 = System.nanoTime();
        check(fwd, stage.stepOffset() + step, accuracy);
        if (step < steps) {
          RunCheckpoint.save(
              dir,
              new RunCheckpoint.State(
                  settingsKey(),
                  step,
                  ema,
                  seconds,
                  done,
                  List.copyOf(curve),
                  List.copyOf(accuracy)),
              params,
              opt);
        }
        checking += System.nanoTime() - c0;
        afterCheck.accept(step);
        intervalStart = System.nanoTime();
      }
    }
    double mean = (before + (System.nanoTime() - t0 - checking) / 1e9) / Math.max(1, done);
    return intervals.isEmpty() ? mean : median(intervals);
  }

  /** The median of {@code values} (not empty). */
  static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  /**
   * A convergence point (the paper's Fig. 5 plots accuracy against step): the first {@code
   * checkScenes} held-out scenes answered now, as (step, overall, position, motion).
   */
  private void check(VideoQaForward fwd, int step, List<double[]> accuracy) {
    Map<String, Integer> correct = new LinkedHashMap<>();
    Map<String, Integer> asked = new LinkedHashMap<>();
    evaluate(
        fwd,
        settings.frames(),
        settings.checkScenes(),
        settings.evalSeed(),
        0,
        correct,
        asked,
        new ArrayList<>());
    int c = correct.values().stream().mapToInt(Integer::intValue).sum();
    int a = asked.values().stream().mapToInt(Integer::intValue).sum();
    double[] point = {
      step,
      share(c, a),
      share(correct.get(QuestionType.POSITION.label()), asked.get(QuestionType.POSITION.label())),
      share(correct.get(QuestionType.MOTION.label()), asked.get(QuestionType.MOTION.label()))
    };
    accuracy.add(point);
    progress.printf(
        Locale.ROOT,
        "  check at step %d: %.1f%% of %d held-out questions, position %.1f%%, motion %.1f%%%n",
        step,
        100 * point[1],
        a,
        100 * point[2],
        100 * point[3]);
  }

  private static double share(int correct, int asked) {
    return asked == 0 ? Double.NaN : (double) correct / asked;
  }

  private void evaluate(
      VideoQaForward fwd, Map<String, Integer> correct, Map<String, Integer> asked) {
    evaluate(
        fwd,
        settings.frames(),
        settings.evalScenes(),
        settings.evalSeed(),
        0,
        correct,
        asked,
        new ArrayList<>());
  }

  /**
   * Answers the held-out set with a pack's own path (its pooling and projector) in process, without
   * the pipeline: rendered frames straight into the pack's preprocessing. Returns {type: [correct,
   * asked]}. With {@code padTo} above the window's length, the window's first frame is repeated at
   * its start up to {@code padTo} frames (a diagnosis: does a short window fail for its length?).
   */
  public static Map<String, int[]> evaluatePack(
      Path pack, int frames, int scenes, long seed, int padTo, List<String> wrong) {
    try (TrainablePack p = TrainablePack.open(pack)) {
      p.parameters().values().forEach(a -> a.setRequiresGradient(false));
      Map<String, Integer> correct = new LinkedHashMap<>();
      Map<String, Integer> asked = new LinkedHashMap<>();
      evaluate(new VideoQaForward(p), frames, scenes, seed, padTo, correct, asked, wrong);
      Map<String, int[]> out = new LinkedHashMap<>();
      asked.forEach((k, a) -> out.put(k, new int[] {correct.get(k), a}));
      return out;
    }
  }

  /** Held-out scene {@code i} as the comparison asks about it: its frames and questions. */
  record HeldOut(
      Scene scene,
      ShapesDataset.SampleSpec spec,
      ShapesDataset.Sample sample,
      List<RgbImage> images) {}

  /**
   * Held-out scene {@code i} of base seed {@code evalSeed}, a window of {@code frames} frames
   * ending at its last second: the one definition that the accuracy and the R-GAE analysis share,
   * so both ask about the same frames and questions.
   */
  static HeldOut heldOut(long evalSeed, int i, int frames) {
    ShapesDataset.SampleSpec spec =
        new ShapesDataset.SampleSpec(
            ShapesWorld.REFERENCE_SIZE, ShapesWorld.REFERENCE_SIZE, 16, frames);
    long sceneSeed = ShapesWorld.videoSeed(evalSeed, i);
    Scene scene = SceneGenerator.generate(sceneSeed, spec.clipSeconds());
    ShapesDataset.Sample s =
        ShapesDataset.sample(
            scene, spec.lastSecond(), spec, new SplittableRandom(sceneSeed ^ 0x5DEECE66DL));
    List<RgbImage> images =
        s.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
    return new HeldOut(scene, spec, s, images);
  }

  /**
   * The held-out set: scene i of {@code evalSeed}, the window of the last {@code frames} seconds,
   * one question per askable type.
   */
  private static void evaluate(
      VideoQaForward fwd,
      int frames,
      int scenes,
      long evalSeed,
      int padTo,
      Map<String, Integer> correct,
      Map<String, Integer> asked,
      List<String> wrong) {
    for (QuestionType t : QuestionType.values()) {
      correct.put(t.label(), 0);
      asked.put(t.label(), 0);
    }
    List<ExampleEncoder.Encoded> pending = new ArrayList<>();
    List<String> kinds = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < scenes; i++) {
      HeldOut h = heldOut(evalSeed, i, frames);
      ShapesDataset.Sample s = h.sample();
      List<RgbImage> images = padFront(h.images(), padTo);
      for (QaPair q : s.questions()) {
        pending.add(fwd.encoder().encode(images, q.question(), q.answer()));
        kinds.add(q.type().label());
        texts.add(q.question() + " (expected \"" + q.answer() + "\"; " + s.caption() + ")");
        if (pending.size() == 24) {
          score(fwd, pending, kinds, texts, correct, asked, wrong);
        }
      }
    }
    if (!pending.isEmpty()) {
      score(fwd, pending, kinds, texts, correct, asked, wrong);
    }
  }

  /** {@code images} with its first repeated at the start up to {@code n} (unchanged if longer). */
  static List<RgbImage> padFront(List<RgbImage> images, int n) {
    List<RgbImage> out = new ArrayList<>();
    for (int k = images.size(); k < n; k++) {
      out.add(images.get(0));
    }
    out.addAll(images);
    return out;
  }

  private static void score(
      VideoQaForward fwd,
      List<ExampleEncoder.Encoded> batch,
      List<String> kinds,
      List<String> texts,
      Map<String, Integer> correct,
      Map<String, Integer> asked,
      List<String> wrong) {
    try (NDManager m = fwd.manager().newSubManager()) {
      VideoQaForward.Result r = fwd.forward(m, batch);
      for (int i = 0; i < batch.size(); i++) {
        asked.merge(kinds.get(i), 1, Integer::sum);
        if (r.exact()[i]) {
          correct.merge(kinds.get(i), 1, Integer::sum);
        } else {
          wrong.add(texts.get(i) + " -> \"" + fwd.decode(r.predicted()[i]) + "\"");
        }
      }
    }
    batch.clear();
    kinds.clear();
    texts.clear();
  }

  private static String perType(RunResult r) {
    StringBuilder sb = new StringBuilder();
    r.asked()
        .forEach(
            (k, a) ->
                sb.append(
                    String.format(" %s %.0f%%", k, a == 0 ? 0.0 : 100.0 * r.correct().get(k) / a)));
    return sb.toString().trim();
  }

  /**
   * Sum of |w| over the tensors that are neither the LLM's nor the pack's projector: the vision
   * tower.
   */
  private static double visionChecksum(TrainablePack pack) {
    double sum = 0;
    for (Map.Entry<String, NDArray> e : pack.parameters().entrySet()) {
      if (pack.isVision(e.getKey())) {
        for (float f : e.getValue().toFloatArray()) {
          sum += Math.abs(f);
        }
      }
    }
    return sum;
  }

  private static long count(Map<String, NDArray> params) {
    return params.values().stream().mapToLong(p -> p.getShape().size()).sum();
  }

  private static void appendLog(
      Path dir, String stage, long step, float loss, double ema, double sec) {
    Trainer.appendLog(
        dir,
        JSON.createObjectNode()
            .put("stage", stage)
            .put("step", step)
            .put("loss", loss)
            .put("ema_loss", ema)
            .put("sec_per_step", sec));
  }

  /**
   * Frames of {@code tokensPerFrame} rows that fit {@code context} tokens after {@code textReserve}
   * text tokens.
   */
  public static int framesThatFit(int context, int textReserve, int tokensPerFrame) {
    return Math.max(0, (context - textReserve) / tokensPerFrame);
  }
}
