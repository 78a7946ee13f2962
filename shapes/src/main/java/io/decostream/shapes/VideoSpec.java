package io.decostream.shapes;

/**
 * Frame size, frame rate and length of a ShapesWorld video.
 *
 * @param width frame width in pixels (even, 64..4096; issue 5 wants 336 or larger for real runs)
 * @param height frame height in pixels (even, 64..4096)
 * @param fps video frames per second (1..60)
 * @param seconds clip length in seconds (1..600)
 */
public record VideoSpec(int width, int height, double fps, double seconds) {

  public VideoSpec {
    if (width < 64 || width > 4096 || width % 2 != 0) {
      throw new IllegalArgumentException("width must be even and in 64..4096, got " + width);
    }
    if (height < 64 || height > 4096 || height % 2 != 0) {
      throw new IllegalArgumentException("height must be even and in 64..4096, got " + height);
    }
    if (!(fps >= 1 && fps <= 60)) {
      throw new IllegalArgumentException("fps must be in 1..60, got " + fps);
    }
    if (!(seconds >= 1 && seconds <= 600)) {
      throw new IllegalArgumentException("seconds must be in 1..600, got " + seconds);
    }
  }

  /** The default of {@code deco shapes}: 336x336, 8 fps, 16 s. */
  public static VideoSpec defaults() {
    return new VideoSpec(336, 336, 8, 16);
  }

  /** Number of video frames: round(seconds * fps). */
  public int frameCount() {
    return (int) Math.max(1, Math.round(seconds * fps));
  }

  /** Time of video frame {@code i}: i / fps. */
  public double frameTime(int i) {
    return i / fps;
  }

  /**
   * The last whole second a 1 fps sampler finds a frame for (the frames stage takes the first frame
   * at or after each whole second): floor((frameCount - 1) / fps).
   */
  public int lastSampledSecond() {
    return (int) Math.floor((frameCount() - 1) / fps + 1e-9);
  }
}
