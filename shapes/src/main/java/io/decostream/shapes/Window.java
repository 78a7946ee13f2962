package io.decostream.shapes;

/**
 * The span of sampled frames a question is asked about: the earliest and the latest frame's time.
 * Positions and captions refer to the latest frame ({@code endSeconds}); a motion question needs at
 * least two frames, i.e. {@code endSeconds - startSeconds >= 1 / sample fps}.
 */
public record Window(double startSeconds, double endSeconds) {

  public Window {
    if (!(startSeconds >= 0 && endSeconds >= startSeconds) || !Double.isFinite(endSeconds)) {
      throw new IllegalArgumentException(
          "window needs 0 <= start <= end, got " + startSeconds + ".." + endSeconds);
    }
  }

  /**
   * The window the pipeline holds when its latest frame is at {@code endSeconds}: the last {@code
   * maxFrames} frames sampled at 1 fps (frames at whole seconds), i.e. start = max(0, end -
   * (maxFrames - 1)).
   */
  public static Window latest(double endSeconds, int maxFrames) {
    if (maxFrames < 1) {
      throw new IllegalArgumentException("maxFrames must be >= 1, got " + maxFrames);
    }
    return new Window(
        Math.max(0, endSeconds - (maxFrames - 1) / ShapesWorld.SAMPLE_FPS), endSeconds);
  }

  /** Whether at least two 1 fps frames are in the window (motion can be seen). */
  public boolean showsMotion() {
    return endSeconds - startSeconds >= 1.0 / ShapesWorld.SAMPLE_FPS - 1e-9;
  }
}
