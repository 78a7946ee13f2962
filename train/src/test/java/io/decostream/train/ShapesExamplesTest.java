package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.shapes.Answers;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ShapesExamplesTest {

  @Test
  void examplesHaveTheAskedFramesAndCoverEveryQuestionType() {
    ShapesExamples src = new ShapesExamples(0.2, "describe the video.");
    SplittableRandom r = new SplittableRandom(4);
    Set<String> kinds = new HashSet<>();
    for (int i = 0; i < 60; i++) {
      int frames = 1 + (i % 16);
      Example e = src.next(r, frames);
      assertEquals(frames, e.frames().size());
      assertEquals(336, e.frames().get(0).width());
      assertTrue(!e.target().isBlank());
      kinds.add(e.kind());
      if (e.kind().equals("caption")) {
        assertEquals("describe the video.", e.question());
      } else {
        assertTrue(e.question().endsWith("?"), e.question());
        assertEquals(Answers.normalize(e.target()), e.target(), "targets are already normalised");
      }
    }
    assertTrue(kinds.containsAll(Set.of("color", "shape", "count", "position", "motion", "yesno", "caption")),
        kinds.toString());
    // the same random state gives the same example (exact resume)
    Example a = src.next(new SplittableRandom(9), 4);
    Example b = src.next(new SplittableRandom(9), 4);
    assertEquals(a.question() + a.target(), b.question() + b.target());
    assertTrue(java.util.Arrays.equals(a.frames().get(3).rgb(), b.frames().get(3).rgb()));
  }
}
