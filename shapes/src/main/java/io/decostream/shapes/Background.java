package io.decostream.shapes;

import java.util.Objects;

/**
 * A dark background (issue 5: luminance below 25%): a plain colour, the plain colour plus mild
 * static grey noise, or a diagonal gradient from {@code base} (top left) to {@code second} (bottom
 * right).
 *
 * @param kind plain, noise or gradient
 * @param base the colour (top-left colour of a gradient)
 * @param second bottom-right colour of a gradient (ignored otherwise)
 * @param noiseAmplitude for NOISE: each pixel gets the same offset in [-a, a] on all channels
 *     (0..16)
 * @param noiseSeed seed of the static noise pattern
 */
public record Background(Kind kind, Rgb base, Rgb second, int noiseAmplitude, long noiseSeed) {

  /** Background styles. */
  public enum Kind {
    PLAIN,
    NOISE,
    GRADIENT
  }

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
    if (kind == Kind.GRADIENT) {
      l = Math.max(l, second.luminance());
    }
    if (kind == Kind.NOISE) {
      l += noise / 255.0;
    }
    return l;
  }
}
