package io.decostream.train;

import io.decostream.nn.image.RgbImage;
import java.util.List;
import java.util.Objects;

/**
 * One training example: the frames of a window (oldest first), the question, and the target text the model
 * must produce (an answer, or a caption for the caption prompt).
 *
 * @param kind a label for per-kind metrics (e.g. the question type)
 */
public record Example(List<RgbImage> frames, String question, String target, String kind) {
  public Example {
    frames = List.copyOf(Objects.requireNonNull(frames, "frames"));
    Objects.requireNonNull(question, "question");
    Objects.requireNonNull(target, "target");
    kind = kind == null ? "" : kind;
    if (frames.isEmpty()) {
      throw new IllegalArgumentException("an example needs at least one frame");
    }
  }
}
