package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WideClipsTest {

  @Test
  void theWideSetCoversTheSizesLengthsRatesSpeedsAndBackgroundsItPromises() {
    Set<String> sizes = new HashSet<>();
    Set<Double> rates = new HashSet<>();
    Set<Double> lengths = new HashSet<>();
    EnumSet<Background.Kind> kinds = EnumSet.noneOf(Background.Kind.class);
    int slow = 0;
    int fast = 0;
    int moving = 0;
    for (int i = 0; i < 300; i++) {
      WideClips.Clip c = WideClips.clip(4242, i);
      VideoSpec v = c.spec();
      sizes.add(v.width() + "x" + v.height());
      rates.add(v.fps());
      lengths.add(v.seconds());
      assertTrue(v.seconds() >= 6 && v.seconds() <= 10, "length " + v.seconds());
      assertEquals(v.seconds(), c.scene().durationSeconds());
      // the window at the last sampled second has 6..10 frames: fewer than the worker's 16
      int frames = v.lastSampledSecond() + 1;
      assertTrue(frames >= 6 && frames <= 10, "frames " + frames + " of " + v);
      kinds.add(c.scene().background().kind());
      assertTrue(
          c.scene().background().maxLuminance() < ShapesWorld.MAX_BACKGROUND_LUMINANCE,
          "dark background");
      for (Shape s : c.scene().shapes()) {
        if (s.motion() != Motion.STILL) {
          moving++;
          assertTrue(s.speed() >= 5 - 1e-9 && s.speed() <= 36 + 1e-9, "speed " + s.speed());
          slow += s.speed() < SceneGenerator.MIN_SPEED ? 1 : 0;
          fast += s.speed() > SceneGenerator.MAX_SPEED ? 1 : 0;
          // the whole path stays in the frame for the clip
          for (double t = 0; t <= v.seconds(); t += 0.5) {
            Box b = s.referenceBox(t);
            assertTrue(
                b.x0() >= 0
                    && b.y0() >= 0
                    && b.x1() <= ShapesWorld.REFERENCE_SIZE
                    && b.y1() <= ShapesWorld.REFERENCE_SIZE,
                "inside at " + t);
          }
        }
      }
    }
    assertEquals(WideClips.SIZES.size(), sizes.size(), sizes.toString());
    assertTrue(sizes.contains("640x360") && sizes.contains("336x336"), sizes.toString());
    assertEquals(Set.of(24.0, 25.0, 30.0), rates);
    assertEquals(9, lengths.size(), lengths.toString());
    assertEquals(EnumSet.allOf(Background.Kind.class), kinds);
    // a real share of the movers is outside the default world's 8..16 px/s on each side
    assertTrue(
        slow > moving / 20 && fast > moving / 5, slow + " slow, " + fast + " fast of " + moving);
  }

  @Test
  void aClipIsAFunctionOfItsSeedAndIndex() {
    WideClips.Clip a = WideClips.clip(7, 3);
    WideClips.Clip b = WideClips.clip(7, 3);
    assertEquals(a.spec(), b.spec());
    assertEquals(a.scene(), b.scene());
    assertTrue(!a.scene().equals(WideClips.clip(7, 4).scene()));
  }

  @Test
  void theDefaultWorldDrawsExactlyAsBefore() {
    // the default ranges keep the recorded recipes' scenes: the same as the explicit default draw
    for (long seed = 0; seed < 50; seed++) {
      Scene s = SceneGenerator.generate(seed, 16);
      assertEquals(s, SceneGenerator.generate(seed, 16, SceneGenerator.Ranges.DEFAULT));
      assertTrue(s.background().kind().ordinal() < 3, "default kinds only");
      for (Shape sh : s.shapes()) {
        assertTrue(sh.motion() == Motion.STILL || sh.speed() <= SceneGenerator.MAX_SPEED + 1e-9);
      }
    }
  }
}
