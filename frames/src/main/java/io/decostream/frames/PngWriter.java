package io.decostream.frames;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A lossless PNG of packed RGB bytes written directly (issue 22 point 2). The load test's profile
 * put javax.imageio's PNG writer at 9% of all CPU samples at 20 cameras (its generic raster path
 * reads every pixel through ColorModel and Raster calls, and it tries every filter per row); this
 * writes the same kind of file (8-bit truecolour, no alpha, not interlaced, one IDAT) with the Sub
 * filter on every row and zlib at its fastest level: on a 336x336 ShapesWorld frame 1.4-4 ms
 * instead of 8-14 ms, for 6.0 KB instead of 4.9 KB (measured on the shared 2-core machine). Any PNG
 * reader decodes it (the encoder's, javax.imageio).
 */
final class PngWriter {
  private PngWriter() {}

  private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

  /** Filter type Sub: each byte minus the same channel of the pixel to its left. */
  private static final byte FILTER_SUB = 1;

  static byte[] write(int width, int height, byte[] rgb) {
    if (width <= 0 || height <= 0 || rgb.length != width * height * 3) {
      throw new IllegalArgumentException(
          "RGB frame " + width + "x" + height + " needs " + (width * height * 3) + " bytes");
    }
    int row = width * 3;
    byte[] filtered = new byte[height * (row + 1)];
    for (int y = 0; y < height; y++) {
      int s = y * row;
      int d = y * (row + 1);
      filtered[d] = FILTER_SUB;
      // the first pixel has no left neighbour: copied as is
      filtered[d + 1] = rgb[s];
      filtered[d + 2] = rgb[s + 1];
      filtered[d + 3] = rgb[s + 2];
      for (int i = 3; i < row; i++) {
        filtered[d + 1 + i] = (byte) (rgb[s + i] - rgb[s + i - 3]);
      }
    }
    Deflater deflater = new Deflater(Deflater.BEST_SPEED);
    ByteArrayOutputStream out = new ByteArrayOutputStream(filtered.length / 8 + 1024);
    try {
      deflater.setInput(filtered);
      deflater.finish();
      byte[] buf = new byte[64 * 1024];
      ByteArrayOutputStream idat = new ByteArrayOutputStream(filtered.length / 8 + 64);
      while (!deflater.finished()) {
        int n = deflater.deflate(buf);
        idat.write(buf, 0, n);
      }
      out.writeBytes(SIGNATURE);
      ByteBuffer ihdr = ByteBuffer.allocate(13);
      ihdr.putInt(width).putInt(height);
      ihdr.put((byte) 8); // bit depth
      ihdr.put((byte) 2); // colour type: truecolour
      ihdr.put((byte) 0); // compression: deflate
      ihdr.put((byte) 0); // filter method 0
      ihdr.put((byte) 0); // no interlace
      chunk(out, "IHDR", ihdr.array());
      chunk(out, "IDAT", idat.toByteArray());
      chunk(out, "IEND", new byte[0]);
      return out.toByteArray();
    } finally {
      deflater.end();
    }
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    out.writeBytes(t);
    out.writeBytes(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }
}
