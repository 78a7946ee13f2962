package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SceneGeneratorTest {

  @Test
  void sameSeedSameSceneOtherSeedOtherScene() {
    assertEquals(SceneGenerator.generate(42, 16), SceneGenerator.generate(42, 16));
    assertNotEquals(SceneGenerator.generate(42, 16), SceneGenerator.generate(43, 16));
    assertEquals(ShapesWorld.videoSeed(7, 3), ShapesWorld.videoSeed(7, 3));
    assertNotEquals(ShapesWorld.videoSeed(7, 3), ShapesWorld.videoSeed(7, 4));
    assertNotEquals(ShapesWorld.videoSeed(7, 3), ShapesWorld.videoSeed(8, 3));
  }

  @Test
  void constraintsHoldOverManySeeds() {
    Set<Integer> counts = new HashSet<>();
    Set<Motion> motions = EnumSet.noneOf(Motion.class);
    Set<ShapeColor> colors = EnumSet.noneOf(ShapeColor.class);
    Set<ShapeKind> kinds = EnumSet.noneOf(ShapeKind.class);
    Set<Background.Kind> backgrounds = EnumSet.noneOf(Background.Kind.class);
    int ref = ShapesWorld.REFERENCE_SIZE;
    for (long seed = 0; seed < 1000; seed++) {
      double duration = seed % 2 == 0 ? 16 : 10 + seed % 7;
      Scene s = SceneGenerator.generate(seed, duration);
      counts.add(s.shapes().size());
      backgrounds.add(s.background().kind());
      assertTrue(
          s.background().maxLuminance() < ShapesWorld.MAX_BACKGROUND_LUMINANCE, "seed " + seed);
      Set<String> names = new HashSet<>();
      for (Shape sh : s.shapes()) {
        motions.add(sh.motion());
        colors.add(sh.color());
        kinds.add(sh.kind());
        assertTrue(names.add(sh.name()), "duplicate colour+shape, seed " + seed);
        assertTrue(
            sh.rgb().maxChannelDistance(sh.color().nominal()) <= ShapesWorld.COLOR_JITTER,
            "jitter, seed " + seed);
        assertTrue(sh.size() >= 40 && sh.size() <= 100, "size " + sh.size() + ", seed " + seed);
        if (sh.motion() != Motion.STILL) {
          assertTrue(
              sh.speed() >= SceneGenerator.MIN_SPEED && sh.speed() <= SceneGenerator.MAX_SPEED,
              "speed " + sh.speed() + ", seed " + seed);
        }
      }
      // inside the frame and apart from each other for the whole clip (checked at 8 fps frame times
      // and the end)
      for (int f = 0; f <= duration * 8; f++) {
        double t = Math.min(duration, f / 8.0);
        List<ShapeState> st = s.statesAt(t, ref, ref);
        for (int i = 0; i < st.size(); i++) {
          assertTrue(st.get(i).box().insideFrame(ref, ref), "outside at t=" + t + ", seed " + seed);
          for (int j = i + 1; j < st.size(); j++) {
            assertEquals(
                0, st.get(i).box().intersectionArea(st.get(j).box()), "overlap, seed " + seed);
          }
        }
      }
    }
    assertEquals(Set.of(1, 2, 3), counts);
    assertEquals(EnumSet.allOf(Motion.class), motions);
    assertEquals(EnumSet.allOf(ShapeColor.class), colors);
    assertEquals(EnumSet.allOf(ShapeKind.class), kinds);
    // the default world keeps its three backgrounds; the vignette and blocks are the wide world's
    assertEquals(
        EnumSet.of(Background.Kind.PLAIN, Background.Kind.NOISE, Background.Kind.GRADIENT),
        backgrounds);
  }

  @Test
  void shapesStayInsideAtOtherFrameSizes() {
    for (long seed = 0; seed < 200; seed++) {
      Scene s = SceneGenerator.generate(seed, 16);
      for (double t : new double[] {0, 7.5, 16}) {
        for (ShapeState st : s.statesAt(t, 640, 360)) {
          assertTrue(st.box().insideFrame(640, 360), "seed " + seed);
          // size scales with the smaller side: 40..100 px at 336 -> 360/336 times that
          assertTrue(st.box().width() <= 100 * 360 / 336.0 + 1e-9);
        }
      }
    }
  }

  @Test
  void rejectsBadInput() {
    assertThrows(IllegalArgumentException.class, () -> SceneGenerator.generate(1, 0));
    Shape red = Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.RED, 50, 100, 100, Motion.STILL, 0);
    assertThrows(
        IllegalArgumentException.class, () -> new Scene(0, 16, Fixtures.DARK, List.of(red, red)));
    assertThrows(IllegalArgumentException.class, () -> new Scene(0, 16, Fixtures.DARK, List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new Background(Background.Kind.PLAIN, new Rgb(90, 90, 90), new Rgb(90, 90, 90), 0, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.RED, 50, 100, 100, Motion.LEFT, 0));
  }
}
