package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShapesRendererTest {

  private static Rgb pixel(byte[] rgb, int width, double x, double y) {
    int i = ((int) y * width + (int) x) * 3;
    return new Rgb(rgb[i] & 0xFF, rgb[i + 1] & 0xFF, rgb[i + 2] & 0xFF);
  }

  @Test
  void shapeColourAtGroundTruthCentreAndDarkElsewhere() {
    int[][] sizes = {{336, 336}, {672, 448}, {160, 96}};
    for (long seed = 0; seed < 60; seed++) {
      Scene s = SceneGenerator.generate(seed, 16);
      int[] wh = sizes[(int) (seed % sizes.length)];
      double t = seed % 17;
      byte[] rgb = ShapesRenderer.renderRgb(s, t, wh[0], wh[1]);
      assertEquals(wh[0] * wh[1] * 3, rgb.length);
      List<ShapeState> states = s.statesAt(t, wh[0], wh[1]);
      for (ShapeState st : states) {
        // interior pixel: exactly the shape's colour (anti-aliasing only touches edges)
        assertEquals(
            st.shape().rgb(), pixel(rgb, wh[0], st.centerX(), st.centerY()), "seed " + seed);
      }
      // every pixel outside all boxes is background, darker than 25%
      for (int y = 0; y < wh[1]; y += 3) {
        for (int x = 0; x < wh[0]; x += 3) {
          final int fx = x;
          final int fy = y;
          if (states.stream().noneMatch(st -> st.box().grow(1).contains(fx, fy))) {
            assertTrue(
                pixel(rgb, wh[0], x, y).luminance() < ShapesWorld.MAX_BACKGROUND_LUMINANCE,
                "seed " + seed + " at " + x + "," + y);
          }
        }
      }
    }
  }

  @Test
  void shapesFillTheirBoxAsExpected() {
    // a lone 100 px square fills its box; a circle about pi/4 of it; a triangle about half
    for (ShapeKind k : ShapeKind.values()) {
      Scene s =
          new Scene(
              0,
              16,
              Fixtures.DARK,
              List.of(Fixtures.shape(k, ShapeColor.WHITE, 100, 168, 168, Motion.STILL, 0)));
      byte[] rgb = ShapesRenderer.renderRgb(s, 0, 336, 336);
      int lit = 0;
      for (int i = 0; i < rgb.length; i += 3) {
        lit += (rgb[i] & 0xFF) > 128 ? 1 : 0;
      }
      double expected =
          switch (k) {
            case SQUARE -> 10000;
            case CIRCLE -> Math.PI / 4 * 10000;
            case TRIANGLE -> 5000;
          };
      assertEquals(expected, lit, expected * 0.03, k.word());
    }
  }

  @Test
  void movingShapeMovesAndRenderingIsDeterministic() {
    Scene s = Fixtures.threeShapes();
    assertArrayEquals(
        ShapesRenderer.renderRgb(s, 3, 336, 336), ShapesRenderer.renderRgb(s, 3, 336, 336));
    byte[] at0 = ShapesRenderer.renderRgb(s, 0, 336, 336);
    byte[] at10 = ShapesRenderer.renderRgb(s, 10, 336, 336);
    // the red circle was centred at x=300 at t=0 and is at x=280 at t=10; its t=0 right edge
    // (x=329) is now background
    assertEquals(ShapeColor.RED.nominal(), pixel(at0, 336, 325, 60));
    assertEquals(Fixtures.DARK.base(), pixel(at10, 336, 325, 60));
    assertEquals(ShapeColor.RED.nominal(), pixel(at10, 336, 255, 60));
  }

  @Test
  void noiseAndGradientBackgroundsStayDark() {
    Background noise =
        new Background(Background.Kind.NOISE, new Rgb(40, 40, 40), new Rgb(40, 40, 40), 8, 3);
    Background grad =
        new Background(Background.Kind.GRADIENT, new Rgb(0, 0, 0), new Rgb(40, 40, 40), 0, 3);
    for (Background bg : new Background[] {noise, grad}) {
      Scene s =
          new Scene(
              0,
              16,
              bg,
              List.of(
                  Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.RED, 40, 30, 30, Motion.STILL, 0)));
      byte[] rgb = ShapesRenderer.renderRgb(s, 0, 200, 200);
      int min = 255;
      int max = 0;
      for (int y = 100; y < 200; y++) {
        for (int x = 100; x < 200; x++) {
          Rgb p = pixel(rgb, 200, x, y);
          assertTrue(p.luminance() < ShapesWorld.MAX_BACKGROUND_LUMINANCE);
          min = Math.min(min, p.r());
          max = Math.max(max, p.r());
        }
      }
      assertTrue(max - min >= 8, bg.kind() + " should vary, range " + min + ".." + max);
    }
  }

  @Test
  void theWideWorldsVignetteRunsFromCentreToCornersAndItsBlocksAreFlatInside() {
    Background radial =
        new Background(Background.Kind.RADIAL, new Rgb(48, 0, 0), new Rgb(0, 0, 48), 0, 5);
    Scene s =
        new Scene(
            0,
            16,
            radial,
            List.of(Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.RED, 40, 30, 30, Motion.STILL, 0)));
    byte[] rgb = ShapesRenderer.renderRgb(s, 0, 201, 101);
    // the centre pixel is the base colour, the far corner the second, the middle between them
    assertEquals(new Rgb(48, 0, 0), pixel(rgb, 201, 100, 50));
    assertEquals(new Rgb(0, 0, 48), pixel(rgb, 201, 200, 100));
    Rgb half = pixel(rgb, 201, 150, 75);
    assertEquals(24, half.r(), 1);
    assertEquals(24, half.b(), 1);

    Background blocks =
        new Background(Background.Kind.BLOCKS, new Rgb(30, 30, 30), new Rgb(30, 30, 30), 12, 9);
    Scene b =
        new Scene(
            0,
            16,
            blocks,
            List.of(Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.RED, 40, 30, 30, Motion.STILL, 0)));
    int w = 240;
    int block = w / Background.BLOCKS_PER_SIDE; // 20 px: the shorter side is 240
    byte[] px = ShapesRenderer.renderRgb(b, 0, 360, 240);
    java.util.Set<Integer> levels = new java.util.HashSet<>();
    for (int by = 4; by < 12; by++) {
      for (int bx = 6; bx < 18; bx++) {
        Rgb first = pixel(px, 360, bx * block, by * block);
        // one grey offset per block: every pixel of the block equals its first, all channels alike
        for (int dy = 0; dy < block; dy += 7) {
          for (int dx = 0; dx < block; dx += 7) {
            assertEquals(first, pixel(px, 360, bx * block + dx, by * block + dy));
          }
        }
        assertEquals(first.r(), first.g());
        assertTrue(Math.abs(first.r() - 30) <= 12, first.toString());
        assertTrue(first.luminance() < ShapesWorld.MAX_BACKGROUND_LUMINANCE);
        levels.add(first.r());
      }
    }
    assertTrue(levels.size() >= 10, "blocks should differ, levels " + levels);
    // static: the same pattern in a later frame
    assertArrayEquals(px, ShapesRenderer.renderRgb(b, 3, 360, 240));
  }
}
