package io.decostream.train;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Settings of a training run, validated at construction.
 *
 * @param out run directory: checkpoints ({@code checkpoint-<step>/}), {@code final/} pack, {@code log.jsonl}
 * @param steps optimizer steps
 * @param batchSize examples per step (one frame count per batch)
 * @param frameChoices the frame counts a step's window draws from, uniformly (repeat a count to weight it)
 * @param peakLr peak learning rate (linear warm-up, cosine decay to 10%)
 * @param warmupSteps warm-up steps
 * @param weightDecay AdamW decoupled weight decay (matrices only)
 * @param clipNorm global gradient-norm clip
 * @param seed data and initialisation seed
 * @param logEvery steps between progress lines
 * @param checkpointEvery steps between checkpoints (0 = only at the end)
 * @param freezeVision keep the vision tower fixed (after {@link VisionPretrainer}, as the paper keeps CLIP frozen)
 * @param attendWeight weight of the attention loss on questions that name one object (0: none; see
 *     {@link VideoQaForward#forward(ai.djl.ndarray.NDManager, List, double)})
 * @param attendAtWord make that lookup at the question's naming word instead of at the answer
 * @param contentWeight weight of the content loss at the naming word (0: none)
 * @param attendEnds with attendAtWord, two more heads at the naming word look at the object in the latest and in the
 *     first frame ({@link VideoQaForward.AttendAt#ENDS})
 * @param contentLayer with attendAtWord, read the content loss off the naming word's residual stream entering this
 *     layer (1..layers) instead of off the last layer (-1)
 */
public record TrainConfig(Path out, int steps, int batchSize, List<Integer> frameChoices, double peakLr,
    int warmupSteps, double weightDecay, double clipNorm, long seed, int logEvery, int checkpointEvery,
    boolean freezeVision, double attendWeight, boolean attendAtWord, double contentWeight, boolean attendEnds,
    int contentLayer) {

  /** The content loss (if any) at the last layer. */
  public TrainConfig(Path out, int steps, int batchSize, List<Integer> frameChoices, double peakLr, int warmupSteps,
      double weightDecay, double clipNorm, long seed, int logEvery, int checkpointEvery, boolean freezeVision,
      double attendWeight, boolean attendAtWord, double contentWeight, boolean attendEnds) {
    this(out, steps, batchSize, frameChoices, peakLr, warmupSteps, weightDecay, clipNorm, seed, logEvery,
        checkpointEvery, freezeVision, attendWeight, attendAtWord, contentWeight, attendEnds, -1);
  }

  /** The lookup at the answer or at the naming word over all frames. */
  public TrainConfig(Path out, int steps, int batchSize, List<Integer> frameChoices, double peakLr, int warmupSteps,
      double weightDecay, double clipNorm, long seed, int logEvery, int checkpointEvery, boolean freezeVision,
      double attendWeight, boolean attendAtWord, double contentWeight) {
    this(out, steps, batchSize, frameChoices, peakLr, warmupSteps, weightDecay, clipNorm, seed, logEvery,
        checkpointEvery, freezeVision, attendWeight, attendAtWord, contentWeight, false);
  }

  /** No attention loss. */
  public TrainConfig(Path out, int steps, int batchSize, List<Integer> frameChoices, double peakLr, int warmupSteps,
      double weightDecay, double clipNorm, long seed, int logEvery, int checkpointEvery, boolean freezeVision) {
    this(out, steps, batchSize, frameChoices, peakLr, warmupSteps, weightDecay, clipNorm, seed, logEvery,
        checkpointEvery, freezeVision, 0, false, 0);
  }

  /** Everything trains. */
  public TrainConfig(Path out, int steps, int batchSize, List<Integer> frameChoices, double peakLr, int warmupSteps,
      double weightDecay, double clipNorm, long seed, int logEvery, int checkpointEvery) {
    this(out, steps, batchSize, frameChoices, peakLr, warmupSteps, weightDecay, clipNorm, seed, logEvery,
        checkpointEvery, false);
  }

  public TrainConfig {
    Objects.requireNonNull(out, "out");
    frameChoices = List.copyOf(frameChoices);
    if (frameChoices.isEmpty() || frameChoices.stream().anyMatch(f -> f < 1)) {
      throw new IllegalArgumentException("frame choices must be >= 1, got " + frameChoices);
    }
    if (steps < 1 || batchSize < 1 || !(peakLr > 0) || warmupSteps < 0
        || weightDecay < 0 || !(clipNorm > 0) || logEvery < 1 || checkpointEvery < 0
        || !(attendWeight >= 0) || Double.isInfinite(attendWeight)
        || !(contentWeight >= 0) || Double.isInfinite(contentWeight) || (attendEnds && !attendAtWord)
        || contentLayer < -1 || contentLayer == 0 || (contentLayer > 0 && !attendAtWord)) {
      throw new IllegalArgumentException("invalid training settings: " + this);
    }
  }

  /** Every frame count from {@code min} to {@code max}, each equally likely. */
  public static List<Integer> frameRange(int min, int max) {
    if (min < 1 || max < min) {
      throw new IllegalArgumentException("need 1 <= min frames <= max frames, got " + min + ".." + max);
    }
    return IntStream.rangeClosed(min, max).boxed().toList();
  }
}
