package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The object a question names, from what the question generator knows, not from its words. */
class QaPairTest {

  private static final Shape RED_CIRCLE =
      Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.RED, 50, 60, 60, Motion.STILL, 0);
  private static final Shape RED_SQUARE =
      Fixtures.shape(ShapeKind.SQUARE, ShapeColor.RED, 50, 250, 250, Motion.STILL, 0);
  private static final Shape BLUE_CIRCLE =
      Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.BLUE, 50, 250, 60, Motion.STILL, 0);
  private static final Scene SCENE =
      new Scene(1, 16, Fixtures.DARK, List.of(RED_CIRCLE, RED_SQUARE, BLUE_CIRCLE));
  private static final Window AT_10 = Window.latest(10, 16);

  private static Optional<Shape> subjectOf(String question) {
    return Questions.answer(SCENE, AT_10, question).orElseThrow().subject(SCENE);
  }

  @Test
  void theSubjectIsTheOneShapeTheQuestionNames() {
    assertEquals(Optional.of(RED_SQUARE), subjectOf("what color is the square?"));
    assertEquals(Optional.of(BLUE_CIRCLE), subjectOf("what shape is the blue object?"));
    assertEquals(Optional.of(RED_CIRCLE), subjectOf("where is the red circle?"));
    assertEquals(Optional.of(RED_CIRCLE), subjectOf("is there a red circle?"));
    // nothing to look at: an absent object, a count, a question built without what it names
    assertTrue(subjectOf("is there a blue square?").isEmpty());
    assertTrue(subjectOf("how many shapes are there?").isEmpty());
    assertTrue(
        new QaPair(QuestionType.COLOR, "what color is the square?", "red")
            .subject(SCENE)
            .isEmpty());
    // two circles: the kind alone names no single shape
    assertTrue(
        new QaPair(QuestionType.COLOR, "what color is the circle?", "red", null, ShapeKind.CIRCLE)
            .subject(SCENE)
            .isEmpty());
  }

  @Test
  void everyGeneratedQuestionAboutOneShapeNamesIt() {
    for (QaPair q : Questions.askable(SCENE, AT_10)) {
      boolean aboutOne =
          q.type() != QuestionType.COUNT
              && !(q.type() == QuestionType.EXISTS && q.answer().equals("no"));
      assertEquals(aboutOne, q.subject(SCENE).isPresent(), q.question());
    }
  }
}
