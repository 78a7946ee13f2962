package io.decostream.shapes;

import java.util.Objects;

/**
 * A dark background (issue 5: luminance below 25%): a plain colour, the plain colour plus mild
 * static grey noise, a diagonal gradient from {@code base} (top left) to {@code second} (bottom
 * right), and, for the wider world of issue 23 point 4 only, a radial vignette from {@code base}
 * (centre) to {@code second} (corners) or coarse static blocks (a grey offset per block).
 *
 * @param kind plain, noise, gradient, radial or blocks
 * @param base the colour (top-left colour of a gradient, centre of a vignette)
 * @param second bottom-right colour of a gradient, corner colour of a vignette (ignored otherwise)
 * @param noiseAmplitude for NOISE: each pixel gets the same offset in [-a, a] on all channels; for
 *     BLOCKS each block of {@link #BLOCKS_PER_SIDE}ths of the shorter side does (0..16)
 * @param noiseSeed seed of the static noise pattern
 */
public record Background(Kind kind, Rgb base, Rgb second, int noiseAmplitude, long noiseSeed) {

  /** Background styles; the first three are the default world's (its draw picks among them). */
  public enum Kind {
    PLAIN,
    NOISE,
    GRADIENT,
    RADIAL,
    BLOCKS
  }

  /** Blocks per shorter side of a BLOCKS background. */
  public static final int BLOCKS_PER_SIDE = 12;

  public Background {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(base, "base");
    Objects.requireNonNull(second, "second");
    if (noiseAmplitude < 0 || noiseAmplitude > 16) {
      throw new IllegalArgumentException("noiseAmplitude must be in 0..16, got " + noiseAmplitude);
    }
    if (maxLuminance(kind, base, second, noiseAmplitude) >= ShapesWorld.MAX_BACKGROUND_LUMINANCE) {
      throw new IllegalArgumentException(
          "background must be dark (luminance < "
              + ShapesWorld.MAX_BACKGROUND_LUMINANCE
              + "), got base "
              + base
              + ", second "
              + second
              + ", noise "
              + noiseAmplitude);
    }
  }

  /**
   * The brightest luminance any pixel of this background can have (noise and gradient included).
   */
  public double maxLuminance() {
    return maxLuminance(kind, base, second, noiseAmplitude);
  }

  private static double maxLuminance(Kind kind, Rgb base, Rgb second, int noise) {
    double l = base.luminance();
    if (kind == Kind.GRADIENT || kind == Kind.RADIAL) {
      l = Math.max(l, second.luminance());
    }
    if (kind == Kind.NOISE || kind == Kind.BLOCKS) {
      l += noise / 255.0;
    }
    return l;
  }
}
