package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.decostream.nn.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The encoder's direct PNG reader (issue 22 point 2) against javax.imageio: the same pixels for
 * every row filter (javax.imageio's writer picks filters per row adaptively), null for kinds it
 * leaves to javax.imageio, and an error for broken data.
 */
class PngReaderTest {

  @Test
  void readsWhatImageIoWritesPixelForPixel() throws Exception {
    SplittableRandom rnd = new SplittableRandom(11);
    for (int[] size : new int[][] {{1, 1}, {5, 3}, {64, 48}, {336, 336}}) {
      BufferedImage img = new BufferedImage(size[0], size[1], BufferedImage.TYPE_3BYTE_BGR);
      for (int y = 0; y < size[1]; y++) {
        for (int x = 0; x < size[0]; x++) {
          // smooth gradients, flat areas and noise: each favours another filter
          int r = (x * 7 + y) & 0xFF;
          int g = x < size[0] / 2 ? 90 : rnd.nextInt(256);
          int b = (y * 3) & 0xFF;
          img.setRGB(x, y, (r << 16) | (g << 8) | b);
        }
      }
      byte[] png = png(img);
      RgbImage fast = PngReader.read(png);
      RgbImage slow =
          RgbImage.fromBufferedImage(ImageIO.read(new java.io.ByteArrayInputStream(png)));
      assertArrayEquals(slow.rgb(), fast.rgb(), size[0] + "x" + size[1]);
    }
  }

  @Test
  void leavesOtherKindsOfPngToImageIo() throws Exception {
    assertNull(PngReader.read(png(new BufferedImage(4, 4, BufferedImage.TYPE_INT_ARGB))));
    assertNull(PngReader.read(png(new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_GRAY))));
  }

  @Test
  void brokenDataIsAnError() throws Exception {
    BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_3BYTE_BGR);
    for (int i = 0; i < 32; i++) {
      img.setRGB(i, i, 0xFF8040);
    }
    byte[] png = png(img);
    // truncated anywhere after the header
    for (int cut : new int[] {40, png.length / 2, png.length - 13}) {
      byte[] t = Arrays.copyOf(png, cut);
      assertThrows(IOException.class, () -> PngReader.read(t), "cut at " + cut);
    }
    // a flipped bit in the pixel data: the chunk's CRC no longer matches
    byte[] flipped = png.clone();
    flipped[png.length - 20] ^= 0x10;
    assertThrows(IOException.class, () -> PngReader.read(flipped));
  }

  private static byte[] png(BufferedImage img) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }
}
