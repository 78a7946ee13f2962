package io.decostream.nn.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The two ways {@link PilBicubic} runs its passes, Vector API and scalar, give the same bytes.
 * Pillow itself is the reference of ClipImageProcessorTest's goldens, which run the default
 * (vector) path; this test carries that to the scalar one and to sizes the goldens do not have.
 */
class PilBicubicTest {

  private static RgbImage random(Random r, int w, int h) {
    byte[] px = new byte[w * h * 3];
    r.nextBytes(px);
    return new RgbImage(w, h, px);
  }

  @Test
  void vectorRunsInTheseTests() {
    // the test runner starts the JVM with --add-modules jdk.incubator.vector, as ./deco does
    assertTrue(PilBicubic.VECTOR, "the Vector API path is the one the goldens check");
  }

  @Test
  void vectorAndScalarPassesAgreeToTheByte() {
    Random r = new Random(22);
    int[][] sizes = {
      {336, 336, 168, 168}, // the shipped model's frames (issue 22's hot path)
      {640, 360, 168, 168},
      {640, 480, 336, 336},
      {336, 336, 336, 168}, // vertical pass only
      {336, 336, 168, 336}, // horizontal pass only
      {100, 80, 168, 168}, // upscale
      {17, 9, 5, 31},
      {33, 33, 32, 32},
      {1, 1, 3, 2},
      {5, 7, 1, 1},
      {1000, 20, 37, 19}
    };
    for (int[] s : sizes) {
      RgbImage img = random(r, s[0], s[1]);
      RgbImage v = PilBicubic.resize(img, s[2], s[3], true);
      RgbImage c = PilBicubic.resize(img, s[2], s[3], false);
      String what = s[0] + "x" + s[1] + " -> " + s[2] + "x" + s[3];
      assertEquals(s[2], v.width(), what);
      assertEquals(s[3], v.height(), what);
      assertArrayEquals(c.rgb(), v.rgb(), what);
    }
    for (int k = 0; k < 40; k++) {
      int w = 1 + r.nextInt(90);
      int h = 1 + r.nextInt(90);
      int ow = 1 + r.nextInt(90);
      int oh = 1 + r.nextInt(90);
      RgbImage img = random(r, w, h);
      assertArrayEquals(
          PilBicubic.resize(img, ow, oh, false).rgb(),
          PilBicubic.resize(img, ow, oh, true).rgb(),
          w + "x" + h + " -> " + ow + "x" + oh);
    }
  }

  @Test
  void saturatedPixelsClipAtBothEnds() {
    // sharp black/white edges overshoot below 0 and above 255 in the cubic's negative lobes
    int w = 64;
    int h = 48;
    byte[] px = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        byte v = (byte) (((x / 3) + (y / 5)) % 2 == 0 ? 0 : 255);
        for (int c = 0; c < 3; c++) {
          px[(y * w + x) * 3 + c] = v;
        }
      }
    }
    RgbImage img = new RgbImage(w, h, px);
    for (int[] s : new int[][] {{100, 90}, {128, 96}, {65, 49}}) { // upscales: the lobes overshoot
      byte[] v = PilBicubic.resize(img, s[0], s[1], true).rgb();
      assertArrayEquals(PilBicubic.resize(img, s[0], s[1], false).rgb(), v);
      boolean zero = false;
      boolean full = false;
      for (byte b : v) {
        zero |= b == 0;
        full |= b == (byte) 255;
      }
      assertTrue(zero && full, "the edges reach both clip limits at " + s[0] + "x" + s[1]);
    }
  }

  @Test
  void sameSizeIsACopyAndBadSizesAreRefused() {
    RgbImage img = random(new Random(1), 7, 5);
    RgbImage same = PilBicubic.resize(img, 7, 5);
    assertArrayEquals(img.rgb(), same.rgb());
    assertTrue(img.rgb() != same.rgb(), "a copy, not the caller's array");
    assertThrows(IllegalArgumentException.class, () -> PilBicubic.resize(img, 0, 5));
    assertThrows(IllegalArgumentException.class, () -> PilBicubic.resize(img, 7, -1));
  }
}
