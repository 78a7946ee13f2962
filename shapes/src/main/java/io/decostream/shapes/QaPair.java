package io.decostream.shapes;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One question with its ground-truth answer, and what the question names: the colour and the kind
 * of the object it asks about (null where it names none, as "how many shapes are there?" and "what
 * shape is the red object?"'s kind), so users find the object in the scene without parsing the
 * question's words.
 */
public record QaPair(
    QuestionType type, String question, String answer, ShapeColor color, ShapeKind kind) {
  public QaPair {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(question, "question");
    Objects.requireNonNull(answer, "answer");
  }

  /** A question that names no object. */
  public QaPair(QuestionType type, String question, String answer) {
    this(type, question, answer, null, null);
  }

  /**
   * The one shape of {@code scene} the question names (its colour and kind where named); empty when
   * it names none, or none or several shapes fit (an absent object, an ambiguous one).
   */
  public Optional<Shape> subject(Scene scene) {
    if (color == null && kind == null) {
      return Optional.empty();
    }
    List<Shape> fit =
        scene.shapes().stream()
            .filter(
                s -> (color == null || s.color() == color) && (kind == null || s.kind() == kind))
            .toList();
    return fit.size() == 1 ? Optional.of(fit.get(0)) : Optional.empty();
  }
}
