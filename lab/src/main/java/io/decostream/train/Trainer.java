package io.decostream.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The training loop (issue 5): batches from an {@link ExampleSource}, the differentiable forward,
 * backward, global-norm clipping, AdamW with warm-up + cosine, a progress line with loss, token
 * accuracy, exact-match rate, learning rate, speed and ETA, {@code log.jsonl}, checkpoints with
 * optimizer state, and exact resume (the data of step s comes from a random state derived from
 * (seed, s) alone).
 */
public final class Trainer {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final TrainConfig config;
  private final ExampleSource source;
  private final PrintStream progress;

  public Trainer(TrainConfig config, ExampleSource source, PrintStream progress) {
    this.config = config;
    this.source = source;
    this.progress = progress;
  }

  /** Summary of a finished run. */
  public record Summary(
      Path finalPack,
      long steps,
      double lastLoss,
      double lastTokenAccuracy,
      double seconds,
      long parameters) {}

  /** The newest {@code checkpoint-<step>} directory of a run, if any. */
  static Optional<Path> latestCheckpoint(Path out) {
    if (!Files.isDirectory(out)) {
      return Optional.empty();
    }
    try (Stream<Path> s = Files.list(out)) {
      return s.filter(
              p ->
                  p.getFileName().toString().matches("checkpoint-\\d+")
                      && Files.isRegularFile(p.resolve("trainer_state.json")))
          .max(
              Comparator.comparingLong(
                  p -> Long.parseLong(p.getFileName().toString().substring(11))));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Trains the pack at {@code initPack} (or resumes from the newest checkpoint under {@code out})
   * and writes {@code out/final}.
   */
  public Summary run(Path initPack) {
    Optional<Path> resume = latestCheckpoint(config.out());
    Path start = resume.orElse(initPack);
    long t0 = System.nanoTime();
    try (TrainablePack pack = TrainablePack.open(start)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      Map<String, NDArray> params = trainedParameters(pack);
      AdamW opt =
          new AdamW(
              params,
              0.9,
              0.98,
              1e-8,
              config.weightDecay(),
              n -> AdamW.decaysByDefault(n, params.get(n)));
      long first = resume.map(dir -> resumeFrom(dir, opt)).orElse(1L);
      LrSchedule lr = new LrSchedule(config.peakLr(), config.warmupSteps(), config.steps(), 0.1);
      progress.printf(
          "training %,d parameters%s for %d steps, batch %d, frames drawn from %s%n",
          params.values().stream().mapToLong(a -> a.getShape().size()).sum(),
          config.freezeVision() ? " (vision tower frozen)" : "",
          config.steps(),
          config.batchSize(),
          config.frameChoices());
      Averages averages = new Averages();
      Timing timing = new Timing();
      int skipped = 0;
      for (long step = first; step <= config.steps(); step++) {
        SplittableRandom rng = new SplittableRandom(config.seed() * 0x9E3779B97F4A7C15L + step);
        int frames = config.frameChoices().get(rng.nextInt(config.frameChoices().size()));
        long tData = System.nanoTime();
        List<ExampleEncoder.Encoded> batch = batch(fwd, rng, frames);
        timing.dataNanos += System.nanoTime() - tData;
        Step s = forwardBackward(pack, fwd, batch);
        List<String> bad = new ArrayList<>();
        double norm = opt.clipOrSkip(s.loss(), config.clipNorm(), bad);
        double rate = lr.at(step);
        if (!Double.isFinite(norm)) {
          skipped = skip(step, s.loss(), frames, bad, skipped + 1);
          continue;
        }
        skipped = 0;
        opt.update(rate);
        averages.add(s);
        timing.steps++;
        if (step % config.logEvery() == 0 || step == config.steps()) {
          report(new Logged(step, frames, rate, norm, s), averages, timing);
        }
        if (config.checkpointEvery() > 0
            && step % config.checkpointEvery() == 0
            && step < config.steps()) {
          checkpoint(pack, opt, step);
        }
      }
      Path fin = config.out().resolve("final");
      pack.save(
          fin,
          Map.of("steps", Long.toString(config.steps()), "seed", Long.toString(config.seed())));
      double secs = (System.nanoTime() - t0) / 1e9;
      progress.printf("wrote %s after %d steps (%.0f s)%n", fin, config.steps(), secs);
      return new Summary(
          fin, config.steps(), averages.loss, averages.acc, secs, pack.parameterCount());
    }
  }

  /**
   * The tensors that train: all of them, or with {@code freezeVision} all but the tower's (which
   * stop recording gradients).
   */
  private Map<String, NDArray> trainedParameters(TrainablePack pack) {
    if (!config.freezeVision()) {
      return pack.parameters();
    }
    Map<String, NDArray> trained = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : pack.parameters().entrySet()) {
      boolean vision = pack.isVision(e.getKey());
      e.getValue().setRequiresGradient(!vision);
      if (!vision) {
        trained.put(e.getKey(), e.getValue());
      }
    }
    return trained;
  }

  /** Loads a checkpoint's optimizer state; the step to go on from. */
  private long resumeFrom(Path checkpoint, AdamW opt) {
    opt.load(checkpoint.resolve("optimizer.safetensors"));
    long first = opt.step() + 1;
    progress.printf("resuming from %s at step %d%n", checkpoint, first);
    return first;
  }

  /** A step's examples, all with {@code frames} frames, drawn and encoded. */
  private List<ExampleEncoder.Encoded> batch(VideoQaForward fwd, SplittableRandom rng, int frames) {
    List<ExampleEncoder.Encoded> batch = new ArrayList<>(config.batchSize());
    for (int i = 0; i < config.batchSize(); i++) {
      Example e = source.next(rng, frames);
      batch.add(
          fwd.encoder().encode(e.frames(), e.question(), e.target(), e.attend(), e.contentWord()));
    }
    return batch;
  }

  /**
   * What one step's forward gave: the loss's value, the batch's token accuracy and exact-answer
   * rate, and the forward's figures (its loss array already freed).
   */
  private record Step(float loss, double acc, double exact, VideoQaForward.Result r) {}

  /** The forward with the configured losses, and the backward. */
  private Step forwardBackward(
      TrainablePack pack, VideoQaForward fwd, List<ExampleEncoder.Encoded> batch) {
    try (NDManager m = pack.manager().newSubManager();
        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      VideoQaForward.Result r = fwd.forward(m, batch, config.losses());
      float loss = r.loss().getFloat();
      gc.backward(r.loss());
      return new Step(
          loss,
          (double) r.correctTokens() / r.targetTokens(),
          (double) r.exactAnswers() / r.examples(),
          r);
    }
  }

  /**
   * A non-finite loss or gradient: the batch is skipped (as mixed-precision trainers do) rather
   * than poison the weights; many in a row means the run diverged. Returns how many in a row.
   */
  private int skip(long step, float loss, int frames, List<String> bad, int skipped) {
    progress.printf(
        "step %d: non-finite %s, batch skipped (%d in a row; %d frames; %d non-finite gradients, "
            + "first %s)%n",
        step,
        Float.isFinite(loss) ? "gradient" : "loss",
        skipped,
        frames,
        bad.size(),
        bad.stream().limit(3).toList());
    if (skipped >= 20) {
      throw new IllegalStateException(
          "20 steps in a row had a non-finite loss or gradient (step "
              + step
              + "); lower the learning rate");
    }
    return skipped;
  }

  /** The progress line's running averages ({@link #ema}). */
  private static final class Averages {
    double loss = Double.NaN;
    double acc = Double.NaN;
    double exact = Double.NaN;
    double attend = Double.NaN;
    double relay = Double.NaN;
    double ends = Double.NaN;
    double content = Double.NaN;
    double stray = Double.NaN;
    double map = Double.NaN;

    void add(Step s) {
      VideoQaForward.Result r = s.r();
      loss = ema(loss, s.loss());
      acc = ema(acc, s.acc());
      exact = ema(exact, s.exact());
      // a batch without attention targets or content words reports NaN there: those averages
      // stay as they are
      attend = ema(attend, r.attendMass());
      relay = ema(relay, r.relayMass());
      ends = ema(ends, r.endsMass());
      content = ema(content, r.contentLoss());
      stray = ema(stray, r.strayMass());
      map = ema(map, r.mapShare());
    }
  }

  /** Wall time and data time over the steps since the last progress line. */
  private static final class Timing {
    long start = System.nanoTime();
    long steps;
    long dataNanos;
  }

  /** A step that is logged: its frame count, learning rate, gradient norm and forward. */
  private record Logged(long step, int frames, double rate, double norm, Step s) {}

  /** The progress line and the log line of a logged step; restarts the timing window. */
  private void report(Logged at, Averages avg, Timing timing) {
    double secPerStep = (System.nanoTime() - timing.start) / 1e9 / timing.steps;
    double dataPerStep = timing.dataNanos / 1e9 / timing.steps;
    timing.dataNanos = 0;
    timing.start = System.nanoTime();
    timing.steps = 0;
    long left = config.steps() - at.step();
    progress.printf(
        "%s step %d/%d  loss %.4f  token acc %.3f  exact %.3f%s  lr %.2e  |g| %.2f  %.2f s/step  "
            + "(data %.2f)  ETA %s%n",
        bar(at.step(), config.steps()),
        at.step(),
        config.steps(),
        avg.loss,
        avg.acc,
        avg.exact,
        auxFigures(avg),
        at.rate(),
        at.norm(),
        secPerStep,
        dataPerStep,
        eta(left * secPerStep));
    VideoQaForward.Result r = at.s().r();
    ObjectNode line =
        JSON.createObjectNode()
            .put("step", at.step())
            .put("loss", at.s().loss())
            .put("ema_loss", avg.loss)
            .put("token_accuracy", at.s().acc())
            .put("exact", at.s().exact())
            .put("lr", at.rate())
            .put("grad_norm", at.norm())
            .put("frames", at.frames())
            .put("sec_per_step", secPerStep)
            .put("data_sec_per_step", dataPerStep);
    // measures the batch did not have (NaN) are left out
    putMeasure(line, "attended", r.attendMass());
    putMeasure(line, "relayed", r.relayMass());
    putMeasure(line, "ends", r.endsMass());
    putMeasure(line, "content_loss", r.contentLoss());
    putMeasure(line, "stray", r.strayMass());
    putMeasure(line, "map_inside", r.mapShare());
    appendLog(config.out(), line);
  }

  /** The progress line's averages of the auxiliary losses that are on. */
  private String auxFigures(Averages avg) {
    AuxLosses aux = config.losses();
    String attend =
        aux.attendWeight() <= 0
            ? ""
            : aux.atWord()
                ? String.format("  attended %.3f  relayed %.3f", avg.attend, avg.relay)
                    + (aux.at() == AttendAt.ENDS ? String.format("  ends %.3f", avg.ends) : "")
                : String.format("  attended %.3f", avg.attend);
    if (aux.contentWeight() > 0) {
      attend += String.format("  content %.3f", avg.content);
    }
    if (aux.strayWeight() > 0) {
      attend += String.format("  stray %.3f", avg.stray);
    }
    if (aux.mapWeight() > 0) {
      attend += String.format("  map inside %.3f", avg.map);
    }
    return attend;
  }

  private static void putMeasure(ObjectNode line, String name, double value) {
    if (!Double.isNaN(value)) {
      line.put(name, value);
    }
  }

  private void checkpoint(TrainablePack pack, AdamW opt, long step) {
    Path dir = config.out().resolve("checkpoint-" + step);
    pack.save(dir, Map.of("step", Long.toString(step)));
    opt.save(dir.resolve("optimizer.safetensors"));
    try {
      // written last: a checkpoint counts only when its state file exists
      Files.writeString(
          dir.resolve("trainer_state.json"),
          JSON.writeValueAsString(
              JSON.createObjectNode().put("step", step).put("seed", config.seed())),
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    progress.printf("checkpoint %s%n", dir);
  }

  /** Appends one JSON line to {@code dir/log.jsonl} (every training loop's log). */
  static void appendLog(Path dir, ObjectNode line) {
    try {
      Files.createDirectories(dir);
      Files.writeString(
          dir.resolve("log.jsonl"),
          JSON.writeValueAsString(line) + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String bar(long step, long total) {
    int width = 20;
    int filled = (int) (width * step / Math.max(1, total));
    return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "]";
  }

  static String eta(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600
        ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60)
        : String.format("%dm%02ds", s / 60, s % 60);
  }

  /**
   * The progress line's running average (factor 0.95); its first value starts it, and NaN (nothing
   * measured) skips.
   */
  private static double ema(double average, double value) {
    if (Double.isNaN(value)) {
      return average;
    }
    return Double.isNaN(average) ? value : 0.95 * average + 0.05 * value;
  }
}
