package io.decostream.shapes;

/** An 8-bit sRGB colour; each channel in 0..255. */
public record Rgb(int r, int g, int b) {

  public Rgb {
    if (r < 0 || r > 255 || g < 0 || g > 255 || b < 0 || b > 255) {
      throw new IllegalArgumentException(
          "RGB channels must be in 0..255, got (" + r + "," + g + "," + b + ")");
    }
  }

  /**
   * Relative luminance in [0, 1] with the Rec. 601 luma weights (0.299, 0.587, 0.114) on the 8-bit
   * values.
   */
  public double luminance() {
    return luminance(r, g, b);
  }

  /** Rec. 601 luma of an 8-bit triple, in [0, 1]. */
  public static double luminance(int r, int g, int b) {
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0;
  }

  /** Largest per-channel absolute difference to {@code o}. */
  public int maxChannelDistance(Rgb o) {
    return Math.max(Math.abs(r - o.r), Math.max(Math.abs(g - o.g), Math.abs(b - o.b)));
  }

  /** {@code 0xRRGGBB}. */
  public int packed() {
    return (r << 16) | (g << 8) | b;
  }
}
