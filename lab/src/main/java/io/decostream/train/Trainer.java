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
      Map<String, NDArray> trained = pack.parameters();
      if (config.freezeVision()) {
        trained = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : pack.parameters().entrySet()) {
          boolean vision = pack.isVision(e.getKey());
          e.getValue().setRequiresGradient(!vision);
          if (!vision) {
            trained.put(e.getKey(), e.getValue());
          }
        }
      }
      Map<String, NDArray> params = trained;
      AdamW opt =
          new AdamW(
              params,
              0.9,
              0.98,
              1e-8,
              config.weightDecay(),
              n -> AdamW.decaysByDefault(n, params.get(n)));
      long first = 1;
      if (resume.isPresent()) {
        opt.load(resume.get().resolve("optimizer.safetensors"));
        first = opt.step() + 1;
        progress.printf("resuming from %s at step %d%n", resume.get(), first);
      }
      LrSchedule lr = new LrSchedule(config.peakLr(), config.warmupSteps(), config.steps(), 0.1);
      progress.printf(
          "training %,d parameters%s for %d steps, batch %d, frames drawn from %s%n",
          params.values().stream().mapToLong(a -> a.getShape().size()).sum(),
          config.freezeVision() ? " (vision tower frozen)" : "",
          config.steps(),
          config.batchSize(),
          config.frameChoices());
      double emaLoss = Double.NaN;
      double emaAcc = Double.NaN;
      double emaExact = Double.NaN;
      double emaAttend = Double.NaN;
      double emaRelay = Double.NaN;
      double emaEnds = Double.NaN;
      double emaContent = Double.NaN;
      double emaStray = Double.NaN;
      double emaMap = Double.NaN;
      long windowStart = System.nanoTime();
      long windowSteps = 0;
      int skipped = 0;
      long dataNanos = 0;
      for (long step = first; step <= config.steps(); step++) {
        SplittableRandom rng = new SplittableRandom(config.seed() * 0x9E3779B97F4A7C15L + step);
        int frames = config.frameChoices().get(rng.nextInt(config.frameChoices().size()));
        long tData = System.nanoTime();
        List<VideoQaForward.Encoded> batch = new ArrayList<>(config.batchSize());
        for (int i = 0; i < config.batchSize(); i++) {
          Example e = source.next(rng, frames);
          batch.add(fwd.encode(e.frames(), e.question(), e.target(), e.attend(), e.contentWord()));
        }
        dataNanos += System.nanoTime() - tData;
        float loss;
        VideoQaForward.Result r;
        try (NDManager m = pack.manager().newSubManager();
            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          r = fwd.forward(m, batch, config.losses());
          loss = r.loss().getFloat();
          gc.backward(r.loss());
        }
        List<String> bad = new ArrayList<>();
        double norm = opt.clipOrSkip(loss, config.clipNorm(), bad);
        double rate = lr.at(step);
        if (!Double.isFinite(norm)) {
          // a non-finite loss or gradient: skip this batch (as mixed-precision trainers do) rather
          // than poison the
          // weights; many in a row means the run diverged
          skipped++;
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
          continue;
        }
        skipped = 0;
        opt.update(rate);
        double acc = (double) r.correctTokens() / r.targetTokens();
        double exact = (double) r.exactAnswers() / r.examples();
        emaLoss = ema(emaLoss, loss);
        emaAcc = ema(emaAcc, acc);
        emaExact = ema(emaExact, exact);
        // a batch without attention targets or content words reports NaN there: those averages stay
        // as they are
        emaAttend = ema(emaAttend, r.attendMass());
        emaRelay = ema(emaRelay, r.relayMass());
        emaEnds = ema(emaEnds, r.endsMass());
        emaContent = ema(emaContent, r.contentLoss());
        emaStray = ema(emaStray, r.strayMass());
        emaMap = ema(emaMap, r.mapShare());
        windowSteps++;
        if (step % config.logEvery() == 0 || step == config.steps()) {
          double secPerStep = (System.nanoTime() - windowStart) / 1e9 / windowSteps;
          double dataPerStep = dataNanos / 1e9 / windowSteps;
          dataNanos = 0;
          windowStart = System.nanoTime();
          windowSteps = 0;
          long left = config.steps() - step;
          AuxLosses aux = config.losses();
          String attend =
              aux.attendWeight() <= 0
                  ? ""
                  : aux.atWord()
                      ? String.format("  attended %.3f  relayed %.3f", emaAttend, emaRelay)
                          + (aux.at() == AttendAt.ENDS ? String.format("  ends %.3f", emaEnds) : "")
                      : String.format("  attended %.3f", emaAttend);
          if (aux.contentWeight() > 0) {
            attend += String.format("  content %.3f", emaContent);
          }
          if (aux.strayWeight() > 0) {
            attend += String.format("  stray %.3f", emaStray);
          }
          if (aux.mapWeight() > 0) {
            attend += String.format("  map inside %.3f", emaMap);
          }
          progress.printf(
              "%s step %d/%d  loss %.4f  token acc %.3f  exact %.3f%s  lr %.2e  |g| %.2f  %.2f s/step  "
                  + "(data %.2f)  ETA %s%n",
              bar(step, config.steps()),
              step,
              config.steps(),
              emaLoss,
              emaAcc,
              emaExact,
              attend,
              rate,
              norm,
              secPerStep,
              dataPerStep,
              eta(left * secPerStep));
          ObjectNode line =
              JSON.createObjectNode()
                  .put("step", step)
                  .put("loss", loss)
                  .put("ema_loss", emaLoss)
                  .put("token_accuracy", acc)
                  .put("exact", exact)
                  .put("lr", rate)
                  .put("grad_norm", norm)
                  .put("frames", frames)
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
      return new Summary(fin, config.steps(), emaLoss, emaAcc, secs, pack.parameterCount());
    }
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
