package io.decostream.shapes;

import java.util.Locale;

/**
 * The three shapes of ShapesWorld (issue 5, "the visual world"): the word is the one used in
 * questions and answers.
 */
public enum ShapeKind {
  CIRCLE,
  SQUARE,
  TRIANGLE;

  /**
   * The shape as it appears in questions, answers and captions ("circle", "square", "triangle").
   */
  public String word() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The shape named by {@code word} (case-insensitive, trimmed). */
  public static ShapeKind fromWord(String word) {
    String w = Answers.normalize(word);
    for (ShapeKind k : values()) {
      if (k.word().equals(w)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        "unknown shape '" + word + "' (expected circle, square or triangle)");
  }
}
