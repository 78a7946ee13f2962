package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The frames stage's direct PNG writer (issue 22 point 2): lossless, readable by javax.imageio. */
class PngWriterTest {

  @Test
  void noisyAndFlatImagesReadBackExactlyThroughImageIo() throws Exception {
    SplittableRandom rnd = new SplittableRandom(5);
    for (int[] size : new int[][] {{1, 1}, {3, 2}, {17, 9}, {336, 336}}) {
      int w = size[0];
      int h = size[1];
      byte[] noise = new byte[w * h * 3];
      for (int i = 0; i < noise.length; i++) {
        noise[i] = (byte) rnd.nextInt(256);
      }
      assertRoundTrip(w, h, noise);
      byte[] flat = new byte[w * h * 3];
      for (int i = 0; i < flat.length; i += 3) {
        int x = (i / 3) % w;
        flat[i] = (byte) (x < w / 2 ? 200 : 10);
        flat[i + 1] = (byte) 30;
        flat[i + 2] = (byte) 255;
      }
      assertRoundTrip(w, h, flat);
    }
  }

  @Test
  void aFlatFrameStaysSmall() {
    int w = 336;
    int h = 336;
    byte[] flat = new byte[w * h * 3];
    java.util.Arrays.fill(flat, (byte) 40);
    byte[] png = PngWriter.write(w, h, flat);
    assertTrue(png.length < 4000, "a one-colour 336x336 frame took " + png.length + " bytes");
  }

  @Test
  void refusesAWrongLength() {
    assertThrows(IllegalArgumentException.class, () -> PngWriter.write(2, 2, new byte[11]));
  }

  private static void assertRoundTrip(int w, int h, byte[] rgb) throws Exception {
    byte[] png = PngWriter.write(w, h, rgb);
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
    assertEquals(w, img.getWidth());
    assertEquals(h, img.getHeight());
    byte[] back = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int p = img.getRGB(x, y);
        int i = (y * w + x) * 3;
        back[i] = (byte) (p >> 16);
        back[i + 1] = (byte) (p >> 8);
        back[i + 2] = (byte) p;
      }
    }
    assertArrayEquals(rgb, back, w + "x" + h);
  }
}
