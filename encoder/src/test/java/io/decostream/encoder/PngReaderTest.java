package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.decostream.nn.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;
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
      RgbImage slow = RgbImage.fromBufferedImage(ImageIO.read(new ByteArrayInputStream(png)));
      assertArrayEquals(slow.rgb(), fast.rgb(), size[0] + "x" + size[1]);
    }
  }

  /**
   * Every row filter on purpose, Sub (the one the frames stage writes on every row) included:
   * javax.imageio's adaptive writer need not pick each one. Row y uses filter y % 5, encoded here
   * by the PNG spec's predictors (9.2); the reader must give back the pixels, as javax.imageio
   * does.
   */
  @Test
  void undoesEachRowFilterTheSpecDefines() throws Exception {
    SplittableRandom rnd = new SplittableRandom(5);
    for (int[] size : new int[][] {{1, 7}, {2, 5}, {37, 23}, {336, 336}}) {
      int w = size[0];
      int h = size[1];
      byte[] rgb = new byte[w * h * 3];
      for (int i = 0; i < rgb.length; i++) {
        rgb[i] = (byte) (i % 7 == 0 ? rnd.nextInt(256) : (i / 3) % w * 5 + 40);
      }
      byte[] png = filteredPng(w, h, rgb);
      assertArrayEquals(rgb, PngReader.read(png).rgb(), w + "x" + h);
      RgbImage slow = RgbImage.fromBufferedImage(ImageIO.read(new ByteArrayInputStream(png)));
      assertArrayEquals(rgb, slow.rgb(), "javax.imageio reads the test's PNG the same way");
    }
  }

  /** 8-bit RGB PNG with filter y % 5 on row y, one IDAT. */
  private static byte[] filteredPng(int w, int h, byte[] rgb) throws IOException {
    int row = w * 3;
    byte[] raw = new byte[h * (row + 1)];
    for (int y = 0; y < h; y++) {
      int f = y % 5;
      raw[y * (row + 1)] = (byte) f;
      for (int i = 0; i < row; i++) {
        int a = i >= 3 ? rgb[y * row + i - 3] & 0xFF : 0;
        int b = y > 0 ? rgb[(y - 1) * row + i] & 0xFF : 0;
        int c = i >= 3 && y > 0 ? rgb[(y - 1) * row + i - 3] & 0xFF : 0;
        int pred =
            switch (f) {
              case 0 -> 0;
              case 1 -> a;
              case 2 -> b;
              case 3 -> (a + b) >>> 1;
              default -> paeth(a, b, c);
            };
        raw[y * (row + 1) + 1 + i] = (byte) ((rgb[y * row + i] & 0xFF) - pred);
      }
    }
    ByteArrayOutputStream idat = new ByteArrayOutputStream();
    try (DeflaterOutputStream z = new DeflaterOutputStream(idat)) {
      z.write(raw);
    }
    ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h);
    ihdr.put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
    chunk(out, "IHDR", ihdr.array());
    chunk(out, "IDAT", idat.toByteArray());
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  private static int paeth(int a, int b, int c) {
    int p = a + b - c;
    int pa = Math.abs(p - a);
    int pb = Math.abs(p - b);
    int pc = Math.abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    out.writeBytes(t);
    out.writeBytes(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
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
