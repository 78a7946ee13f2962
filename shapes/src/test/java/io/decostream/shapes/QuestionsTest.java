package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QuestionsTest {

  private static final Window AT_10 = Window.latest(10, 16);

  private static String ask(Scene s, Window w, String q) {
    return Questions.answer(s, w, q)
        .orElseThrow(() -> new AssertionError("not askable: " + q))
        .answer();
  }

  @Test
  void everyTemplateOnAKnownScene() {
    Scene s = Fixtures.threeShapes();
    assertEquals("red", ask(s, AT_10, "what color is the circle?"));
    assertEquals("blue", ask(s, AT_10, "what color is the square?"));
    assertEquals("green", ask(s, AT_10, "what color is the triangle?"));
    assertEquals("circle", ask(s, AT_10, "what shape is the red object?"));
    assertEquals("square", ask(s, AT_10, "what shape is the blue object?"));
    assertEquals("triangle", ask(s, AT_10, "what shape is the green object?"));
    assertEquals("three", ask(s, AT_10, "how many shapes are there?"));
    assertEquals("top right", ask(s, AT_10, "where is the red circle?"));
    assertEquals("center", ask(s, AT_10, "where is the blue square?"));
    assertEquals("bottom left", ask(s, AT_10, "where is the green triangle?"));
    assertEquals("left", ask(s, AT_10, "which way is the red circle moving?"));
    assertEquals("not moving", ask(s, AT_10, "which way is the blue square moving?"));
    assertEquals("down", ask(s, AT_10, "which way is the green triangle moving?"));
    assertEquals("yes", ask(s, AT_10, "is there a red circle?"));
    assertEquals("no", ask(s, AT_10, "is there a red square?"));
    assertEquals("no", ask(s, AT_10, "is there a purple triangle?"));
    // case, spacing and a missing question mark are tolerated; the type is reported
    QaPair qa = Questions.answer(s, AT_10, "  Where is the RED circle ").orElseThrow();
    assertEquals(QuestionType.POSITION, qa.type());
    assertEquals("where is the red circle?", qa.question());
  }

  @Test
  void positionIsTheCellInTheLatestFrameOfTheWindow() {
    Scene s = Fixtures.threeShapes();
    // the triangle starts at y=200 (center-left row), moves down 5 px/s: y=224 at t=4.8 -> bottom
    // row
    assertEquals("left", ask(s, Window.latest(4, 16), "where is the green triangle?"));
    assertEquals("bottom left", ask(s, Window.latest(5, 16), "where is the green triangle?"));
    // the circle starts at x=300 moving left 2 px/s: x=224 at t=38 is still the right column, 222
    // is not
    Scene long60 = new Scene(0, 60, Fixtures.DARK, s.shapes());
    assertEquals("top right", ask(long60, Window.latest(38, 16), "where is the red circle?"));
    assertEquals("top", ask(long60, Window.latest(39, 16), "where is the red circle?"));
  }

  @Test
  void preconditionsOfEachTemplate() {
    Scene twoRed =
        new Scene(
            0,
            16,
            Fixtures.DARK,
            List.of(
                Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.RED, 50, 60, 60, Motion.RIGHT, 3),
                Fixtures.shape(ShapeKind.SQUARE, ShapeColor.RED, 50, 250, 250, Motion.STILL, 0),
                Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.WHITE, 50, 60, 250, Motion.UP, 3)));
    // two circles: the colour of "the circle" is undefined; one square: defined
    assertEquals(Optional.empty(), Questions.answer(twoRed, AT_10, "what color is the circle?"));
    assertEquals("red", ask(twoRed, AT_10, "what color is the square?"));
    // two red objects: "the red object" is undefined; one white object: defined
    assertEquals(
        Optional.empty(), Questions.answer(twoRed, AT_10, "what shape is the red object?"));
    assertEquals("circle", ask(twoRed, AT_10, "what shape is the white object?"));
    // absent shapes have no position or motion
    assertEquals(Optional.empty(), Questions.answer(twoRed, AT_10, "where is the blue square?"));
    assertEquals(
        Optional.empty(), Questions.answer(twoRed, AT_10, "which way is the blue square moving?"));
    // motion needs two frames
    assertEquals(
        Optional.empty(),
        Questions.answer(twoRed, Window.latest(0, 16), "which way is the red circle moving?"));
    assertEquals(
        Optional.empty(),
        Questions.answer(twoRed, Window.latest(5, 1), "which way is the red circle moving?"));
    assertEquals("right", ask(twoRed, Window.latest(1, 16), "which way is the red circle moving?"));
    // not a template
    assertEquals(Optional.empty(), Questions.answer(twoRed, AT_10, "what is the meaning of life?"));
    // generated lists obey the same rules
    for (QaPair qa : Questions.askable(twoRed, AT_10)) {
      assertFalse(
          qa.question().equals("what color is the circle?")
              || qa.question().equals("what shape is the red object?"));
    }
    assertTrue(
        Questions.askable(twoRed, Window.latest(0, 16)).stream()
            .noneMatch(q -> q.type() == QuestionType.MOTION));
  }

  @Test
  void generatedPositionQuestionsSkipCentresOnAGridLine() {
    Scene onLine =
        new Scene(
            0,
            16,
            Fixtures.DARK,
            List.of(
                Fixtures.shape(ShapeKind.SQUARE, ShapeColor.BLUE, 50, 114, 50, Motion.STILL, 0)));
    assertTrue(
        Questions.askable(onLine, AT_10).stream()
            .noneMatch(q -> q.type() == QuestionType.POSITION));
    assertEquals(
        Optional.empty(),
        Questions.sample(onLine, AT_10, QuestionType.POSITION, new SplittableRandom(1)));
    assertEquals(
        "top", ask(onLine, AT_10, "where is the blue square?")); // still answerable when asked
  }

  @Test
  void generatedQuestionsAreCorrectAndCoverEveryType() {
    SplittableRandom rnd = new SplittableRandom(5);
    Map<QuestionType, Set<String>> answers = new EnumMap<>(QuestionType.class);
    for (long seed = 0; seed < 400; seed++) {
      Scene s = SceneGenerator.generate(seed, 16);
      Window w = Window.latest(rnd.nextInt(16), 16);
      List<QaPair> qs = Questions.samplePerType(s, w, rnd);
      Set<QuestionType> types = new HashSet<>();
      for (QaPair qa : qs) {
        assertTrue(types.add(qa.type()), "one per type");
        // the generated answer is what answering the text gives
        assertEquals(qa, Questions.answer(s, w, qa.question()).orElseThrow(), "seed " + seed);
        answers.computeIfAbsent(qa.type(), t -> new HashSet<>()).add(qa.answer());
      }
      assertTrue(types.contains(QuestionType.COUNT) && types.contains(QuestionType.EXISTS));
    }
    assertEquals(
        Set.of("red", "green", "blue", "yellow", "white", "purple"),
        answers.get(QuestionType.COLOR));
    assertEquals(Set.of("circle", "square", "triangle"), answers.get(QuestionType.SHAPE));
    assertEquals(Set.of("one", "two", "three"), answers.get(QuestionType.COUNT));
    assertEquals(9, answers.get(QuestionType.POSITION).size());
    assertEquals(
        Set.of("left", "right", "up", "down", "not moving"), answers.get(QuestionType.MOTION));
    assertEquals(Set.of("yes", "no"), answers.get(QuestionType.EXISTS));
  }

  @Test
  void yesNoIsBalanced() {
    SplittableRandom rnd = new SplittableRandom(11);
    int yes = 0;
    int n = 4000;
    for (int i = 0; i < n; i++) {
      Scene s = SceneGenerator.generate(i, 16);
      QaPair qa = Questions.sample(s, AT_10, QuestionType.EXISTS, rnd).orElseThrow();
      boolean present = qa.answer().equals("yes");
      yes += present ? 1 : 0;
      assertEquals(qa.answer(), ask(s, AT_10, qa.question()));
    }
    // binomial(4000, 0.5): sd ~ 32, so 45..55% is more than 6 sd
    assertTrue(yes > 0.45 * n && yes < 0.55 * n, "yes fraction " + yes / (double) n);
  }
}
