package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.shapes.Answers;
import io.decostream.shapes.QuestionType;
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
    assertTrue(
        kinds.containsAll(
            Set.of("color", "shape", "count", "position", "motion", "yesno", "caption")),
        kinds.toString());
    // the same random state gives the same example (exact resume)
    Example a = src.next(new SplittableRandom(9), 4);
    Example b = src.next(new SplittableRandom(9), 4);
    assertEquals(a.question() + a.target(), b.question() + b.target());
    assertTrue(java.util.Arrays.equals(a.frames().get(3).rgb(), b.frames().get(3).rgb()));
  }

  @Test
  void questionWeightsShiftTheMixOfTypesAndZeroRemovesAType() {
    java.util.Map<String, Integer> uniform = mix(new ShapesExamples(0, "describe the video."));
    java.util.Map<String, Integer> weighted =
        mix(
            new ShapesExamples(
                0,
                "describe the video.",
                java.util.Map.of(QuestionType.COLOR, 4.0, QuestionType.SHAPE, 0.0)));
    assertEquals(0, weighted.getOrDefault("shape", 0), weighted.toString());
    assertTrue(uniform.getOrDefault("shape", 0) > 20, uniform.toString());
    // colour is asked only when a kind is unique, so its share grows by less than 4x but clearly
    assertTrue(weighted.get("color") > 2 * uniform.get("color"), uniform + " vs " + weighted);
    assertThrows(
        IllegalArgumentException.class,
        () -> new ShapesExamples(0, "p", java.util.Map.of(QuestionType.COUNT, -1.0)));
  }

  @Test
  void uniformWeightsDrawExactlyAsBefore() {
    // recorded recipes (scripts/train-shapes-demo) must replay: all-ones weights use the original
    // single draw
    ShapesExamples plain = new ShapesExamples(0.3, "describe the video.");
    ShapesExamples ones =
        new ShapesExamples(0.3, "describe the video.", java.util.Map.of(QuestionType.MOTION, 1.0));
    SplittableRandom a = new SplittableRandom(21);
    SplittableRandom b = new SplittableRandom(21);
    for (int i = 0; i < 20; i++) {
      Example x = plain.next(a, 2);
      Example y = ones.next(b, 2);
      assertEquals(x.question() + x.target(), y.question() + y.target());
    }
  }

  private static java.util.Map<String, Integer> mix(ShapesExamples src) {
    java.util.Map<String, Integer> n = new java.util.TreeMap<>();
    SplittableRandom r = new SplittableRandom(5);
    for (int i = 0; i < 300; i++) {
      n.merge(src.next(r, 2).kind(), 1, Integer::sum);
    }
    return n;
  }

  @Test
  void oneColourScenesKeepKindsAndPlacesAndStayValid() {
    int recoloured = 0;
    for (long seed = 0; seed < 40; seed++) {
      io.decostream.shapes.Scene scene = io.decostream.shapes.SceneGenerator.generate(seed, 16);
      io.decostream.shapes.Scene one = ShapesExamples.oneColour(scene);
      boolean distinctKinds =
          scene.shapes().stream().map(io.decostream.shapes.Shape::kind).distinct().count()
              == scene.shapes().size();
      if (scene.shapes().size() < 2 || !distinctKinds) {
        assertEquals(scene, one, "left alone");
        continue;
      }
      recoloured++;
      for (int i = 0; i < scene.shapes().size(); i++) {
        io.decostream.shapes.Shape a = scene.shapes().get(i);
        io.decostream.shapes.Shape b = one.shapes().get(i);
        assertEquals(scene.shapes().get(0).color(), b.color());
        assertEquals(a.kind(), b.kind());
        assertEquals(a.centerX(5), b.centerX(5));
        assertEquals(a.motion(), b.motion());
      }
    }
    assertTrue(recoloured > 5, "recoloured " + recoloured);
    // with the fraction at 1, "where is the {color} {shape}?" only has one colour to name in such
    // scenes
    ShapesExamples src = new ShapesExamples(0, "p", java.util.Map.of(), 1.0);
    Example e = src.next(new SplittableRandom(3), 1);
    assertTrue(!e.target().isBlank());
    assertThrows(
        IllegalArgumentException.class, () -> new ShapesExamples(0, "p", java.util.Map.of(), 1.5));
  }

  @Test
  void oneKindScenesKeepColoursAndPlacesAndStayValid() {
    int rekinded = 0;
    for (long seed = 0; seed < 40; seed++) {
      io.decostream.shapes.Scene scene = io.decostream.shapes.SceneGenerator.generate(seed, 16);
      io.decostream.shapes.Scene one = ShapesExamples.oneKind(scene);
      boolean distinctColours =
          scene.shapes().stream().map(io.decostream.shapes.Shape::color).distinct().count()
              == scene.shapes().size();
      if (scene.shapes().size() < 2 || !distinctColours) {
        assertEquals(scene, one, "left alone");
        continue;
      }
      rekinded++;
      for (int i = 0; i < scene.shapes().size(); i++) {
        io.decostream.shapes.Shape a = scene.shapes().get(i);
        io.decostream.shapes.Shape b = one.shapes().get(i);
        assertEquals(scene.shapes().get(0).kind(), b.kind());
        assertEquals(a.color(), b.color());
        assertEquals(a.centerX(5), b.centerX(5));
        assertEquals(a.centerY(5), b.centerY(5));
        assertEquals(a.motion(), b.motion());
      }
    }
    assertTrue(rekinded > 5, "rekinded " + rekinded);
    // with the fraction at 1 every multi-shape window of distinct colours has one kind: "what color
    // is the square?"
    // is then never asked of it (two squares), while motion questions still name each shape by its
    // colour
    ShapesExamples src = new ShapesExamples(0, "p", java.util.Map.of(), 0, 1.0, false);
    SplittableRandom r = new SplittableRandom(3);
    for (int i = 0; i < 20; i++) {
      assertTrue(!src.next(r, 2).target().isBlank());
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> new ShapesExamples(0, "p", java.util.Map.of(), 0, -0.1, false));
    // 0 keeps the draw exactly as before (recorded recipes replay)
    ShapesExamples before = new ShapesExamples(0, "p", java.util.Map.of(), 0.3, false);
    ShapesExamples now = new ShapesExamples(0, "p", java.util.Map.of(), 0.3, 0, false);
    SplittableRandom ra = new SplittableRandom(9);
    SplittableRandom rb = new SplittableRandom(9);
    for (int i = 0; i < 10; i++) {
      assertEquals(before.next(ra, 2).target(), now.next(rb, 2).target());
    }
  }

  @Test
  void wideExamplesComeInTheWideSetsSizesWithTheAskedFramesAndZeroKeepsTheOldDraw() {
    ShapesExamples wide = new ShapesExamples(0.2, "p", java.util.Map.of(), 0, 0, false, 1.0);
    SplittableRandom r = new SplittableRandom(3);
    java.util.Set<String> sizes = new java.util.HashSet<>();
    for (int i = 0; i < 120; i++) {
      int frames = 1 + r.nextInt(16);
      Example e = wide.next(r, frames);
      assertEquals(frames, e.frames().size());
      int w = e.frames().get(0).width();
      int h = e.frames().get(0).height();
      assertTrue(
          io.decostream.shapes.WideClips.SIZES.stream().anyMatch(s -> s[0] == w && s[1] == h),
          w + "x" + h);
      sizes.add(w + "x" + h);
    }
    assertEquals(io.decostream.shapes.WideClips.SIZES.size(), sizes.size(), sizes.toString());
    assertThrows(
        IllegalArgumentException.class,
        () -> new ShapesExamples(0, "p", java.util.Map.of(), 0, 0, false, 1.5));
    // 0 keeps the draw exactly as before (recorded recipes replay)
    ShapesExamples before = new ShapesExamples(0.3, "p", java.util.Map.of(), 0.2, 0.1, false);
    ShapesExamples now = new ShapesExamples(0.3, "p", java.util.Map.of(), 0.2, 0.1, false, 0);
    SplittableRandom ra = new SplittableRandom(19);
    SplittableRandom rb = new SplittableRandom(19);
    for (int i = 0; i < 10; i++) {
      Example x = before.next(ra, 3);
      Example y = now.next(rb, 3);
      assertEquals(x.question() + x.target(), y.question() + y.target());
      assertEquals(336, y.frames().get(0).width());
    }
  }
}
