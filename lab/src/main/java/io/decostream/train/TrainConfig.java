package io.decostream.train;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Settings of a training run, validated at construction.
 *
 * @param out run directory: checkpoints ({@code checkpoint-<step>/}), {@code final/} pack, {@code
 *     log.jsonl}
 * @param steps optimizer steps
 * @param batchSize examples per step (one frame count per batch)
 * @param frameChoices the frame counts a step's window draws from, uniformly (repeat a count to
 *     weight it)
 * @param peakLr peak learning rate (linear warm-up, cosine decay to 10%)
 * @param warmupSteps warm-up steps
 * @param weightDecay AdamW decoupled weight decay (matrices only)
 * @param clipNorm global gradient-norm clip
 * @param seed data and initialisation seed
 * @param logEvery steps between progress lines
 * @param checkpointEvery steps between checkpoints (0 = only at the end)
 * @param freezeVision keep the vision tower fixed (after {@link VisionPretrainer}, as the paper
 *     keeps CLIP frozen)
 * @param losses the auxiliary losses beside the answers' cross-entropy ({@link AuxLosses#NONE}:
 *     none)
 */
public record TrainConfig(
    Path out,
    int steps,
    int batchSize,
    List<Integer> frameChoices,
    double peakLr,
    int warmupSteps,
    double weightDecay,
    double clipNorm,
    long seed,
    int logEvery,
    int checkpointEvery,
    boolean freezeVision,
    AuxLosses losses) {

  /** No attention loss. */
  public TrainConfig(
      Path out,
      int steps,
      int batchSize,
      List<Integer> frameChoices,
      double peakLr,
      int warmupSteps,
      double weightDecay,
      double clipNorm,
      long seed,
      int logEvery,
      int checkpointEvery,
      boolean freezeVision) {
    this(
        out,
        steps,
        batchSize,
        frameChoices,
        peakLr,
        warmupSteps,
        weightDecay,
        clipNorm,
        seed,
        logEvery,
        checkpointEvery,
        freezeVision,
        AuxLosses.NONE);
  }

  /** Everything trains. */
  public TrainConfig(
      Path out,
      int steps,
      int batchSize,
      List<Integer> frameChoices,
      double peakLr,
      int warmupSteps,
      double weightDecay,
      double clipNorm,
      long seed,
      int logEvery,
      int checkpointEvery) {
    this(
        out,
        steps,
        batchSize,
        frameChoices,
        peakLr,
        warmupSteps,
        weightDecay,
        clipNorm,
        seed,
        logEvery,
        checkpointEvery,
        false);
  }

  public TrainConfig {
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(losses, "losses");
    frameChoices = List.copyOf(frameChoices);
    if (frameChoices.isEmpty() || frameChoices.stream().anyMatch(f -> f < 1)) {
      throw new IllegalArgumentException("frame choices must be >= 1, got " + frameChoices);
    }
    if (steps < 1
        || batchSize < 1
        || !(peakLr > 0)
        || warmupSteps < 0
        || weightDecay < 0
        || !(clipNorm > 0)
        || logEvery < 1
        || checkpointEvery < 0) {
      throw new IllegalArgumentException("invalid training settings: " + this);
    }
  }

  /** Every frame count from {@code min} to {@code max}, each equally likely. */
  public static List<Integer> frameRange(int min, int max) {
    if (min < 1 || max < min) {
      throw new IllegalArgumentException(
          "need 1 <= min frames <= max frames, got " + min + ".." + max);
    }
    return IntStream.rangeClosed(min, max).boxed().toList();
  }
}
