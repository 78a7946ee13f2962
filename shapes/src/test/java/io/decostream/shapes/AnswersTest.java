package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AnswersTest {

  @Test
  void normalisation() {
    assertEquals("top right", Answers.normalize("  Top   Right. "));
    assertEquals("yes", Answers.normalize("YES."));
    assertEquals("", Answers.normalize(null));
    assertTrue(Answers.matches("Not moving.", "not moving"));
    assertTrue(Answers.matches(" red ", "red"));
    assertFalse(Answers.matches("red circle", "red"));
    assertFalse(Answers.matches("top", "top right"));
  }

  @Test
  void wordsRoundTrip() {
    for (ShapeColor c : ShapeColor.values()) {
      assertEquals(c, ShapeColor.fromWord(c.word().toUpperCase() + "."));
    }
    for (ShapeKind k : ShapeKind.values()) {
      assertEquals(k, ShapeKind.fromWord(" " + k.word()));
    }
    for (Motion m : Motion.values()) {
      assertEquals(m, Motion.fromWord(m.word()));
    }
    assertEquals("two", Answers.countWord(2));
    assertThrows(IllegalArgumentException.class, () -> Answers.countWord(4));
    assertThrows(IllegalArgumentException.class, () -> ShapeColor.fromWord("orange"));
  }
}
