package io.decostream.train;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings of a training run, validated at construction.
 *
 * @param out run directory: checkpoints ({@code checkpoint-<step>/}), {@code final/} pack, {@code log.jsonl}
 * @param steps optimizer steps
 * @param batchSize examples per step (one frame count per batch)
 * @param minFrames fewest frames in a window
 * @param maxFrames most frames in a window
 * @param peakLr peak learning rate (linear warm-up, cosine decay to 10%)
 * @param warmupSteps warm-up steps
 * @param weightDecay AdamW decoupled weight decay (matrices only)
 * @param clipNorm global gradient-norm clip
 * @param seed data and initialisation seed
 * @param logEvery steps between progress lines
 * @param checkpointEvery steps between checkpoints (0 = only at the end)
 */
public record TrainConfig(Path out, int steps, int batchSize, int minFrames, int maxFrames, double peakLr,
    int warmupSteps, double weightDecay, double clipNorm, long seed, int logEvery, int checkpointEvery) {

  public TrainConfig {
    Objects.requireNonNull(out, "out");
    if (steps < 1 || batchSize < 1 || minFrames < 1 || maxFrames < minFrames || !(peakLr > 0) || warmupSteps < 0
        || weightDecay < 0 || !(clipNorm > 0) || logEvery < 1 || checkpointEvery < 0) {
      throw new IllegalArgumentException("invalid training settings: " + this);
    }
  }
}
