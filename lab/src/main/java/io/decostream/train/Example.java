package io.decostream.train;

import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.Box;
import java.util.List;
import java.util.Objects;

/**
 * One training example: the frames of a window (oldest first), the question, and the target text
 * the model must produce (an answer, or a caption for the caption prompt).
 *
 * @param kind a label for per-kind metrics (e.g. the question type)
 * @param attend where the object the question names is in each frame (boxes in the frames' pixels,
 *     one per frame, oldest first), for the optional attention loss; empty when the question names
 *     no single object
 * @param contentWord the content loss's target word at the naming word (that object's colour word,
 *     or with {@code ShapesExamples}' contentAnswer the answer's first word for motion and
 *     position); empty without one
 */
public record Example(
    List<RgbImage> frames,
    String question,
    String target,
    String kind,
    List<Box> attend,
    String contentWord) {
  public Example {
    frames = List.copyOf(Objects.requireNonNull(frames, "frames"));
    Objects.requireNonNull(question, "question");
    Objects.requireNonNull(target, "target");
    kind = kind == null ? "" : kind;
    attend = attend == null ? List.of() : List.copyOf(attend);
    contentWord = contentWord == null ? "" : contentWord;
    if (frames.isEmpty()) {
      throw new IllegalArgumentException("an example needs at least one frame");
    }
    if (!attend.isEmpty() && attend.size() != frames.size()) {
      throw new IllegalArgumentException(
          "attend needs one box per frame, got "
              + attend.size()
              + " for "
              + frames.size()
              + " frames");
    }
  }

  /** An example without attention targets. */
  public Example(List<RgbImage> frames, String question, String target, String kind) {
    this(frames, question, target, kind, List.of(), "");
  }
}
