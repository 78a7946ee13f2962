package io.decostream.shapes;

import java.util.Objects;

/** One question with its ground-truth answer. */
public record QaPair(QuestionType type, String question, String answer) {
  public QaPair {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(question, "question");
    Objects.requireNonNull(answer, "answer");
  }
}
