package io.decostream.nn.image;

/**
 * An 8-bit RGB image, row-major, interleaved R,G,B (the input of CLIP preprocessing, spec §1.2).
 * The array is used as given (not copied): callers must not mutate it afterwards.
 */
public record RgbImage(int width, int height, byte[] rgb) {

  public RgbImage {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException(
          "image size must be positive, got " + width + "x" + height);
    }
    if (rgb == null || rgb.length != (long) width * height * 3) {
      throw new IllegalArgumentException(
          "an RGB image of "
              + width
              + "x"
              + height
              + " needs "
              + ((long) width * height * 3)
              + " bytes, got "
              + (rgb == null ? "null" : rgb.length));
    }
  }

  /** Channel {@code c} (0=R,1=G,2=B) of pixel (x, y) as 0..255. */
  public int get(int x, int y, int c) {
    return rgb[(y * width + x) * 3 + c] & 0xFF;
  }

  /** Converts a java.awt image (any type; alpha dropped, grey expanded) to RGB. */
  public static RgbImage fromBufferedImage(java.awt.image.BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
    byte[] out = new byte[w * h * 3];
    for (int i = 0; i < argb.length; i++) {
      int p = argb[i];
      out[3 * i] = (byte) (p >> 16);
      out[3 * i + 1] = (byte) (p >> 8);
      out[3 * i + 2] = (byte) p;
    }
    return new RgbImage(w, h, out);
  }

  /** A sub-rectangle copy (must lie inside the image). */
  public RgbImage crop(int left, int top, int cropWidth, int cropHeight) {
    if (left < 0 || top < 0 || left + cropWidth > width || top + cropHeight > height) {
      throw new IllegalArgumentException(
          "crop "
              + cropWidth
              + "x"
              + cropHeight
              + "+"
              + left
              + "+"
              + top
              + " lies outside the "
              + width
              + "x"
              + height
              + " image");
    }
    byte[] out = new byte[cropWidth * cropHeight * 3];
    for (int y = 0; y < cropHeight; y++) {
      System.arraycopy(rgb, ((top + y) * width + left) * 3, out, y * cropWidth * 3, cropWidth * 3);
    }
    return new RgbImage(cropWidth, cropHeight, out);
  }
}
