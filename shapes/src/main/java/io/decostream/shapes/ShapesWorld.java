package io.decostream.shapes;

/**
 * ShapesWorld (issue 5, point 1): the synthetic video world the demo model is trained and evaluated
 * on. This class holds the world's fixed constants and the seed derivation; the parts are {@link
 * SceneGenerator} (random scenes), {@link ShapesRenderer} (frames), {@link Scene#statesAt}
 * (per-frame ground truth), {@link Questions} and {@link Captions} (text), {@link Answers} (answer
 * comparison), {@link ShapesDataset} (training samples without video files) and {@link ShapesJsonl}
 * (the qa/captions/scenes files of {@code deco shapes}).
 */
public final class ShapesWorld {

  /**
   * Side of the reference canvas all scene geometry is expressed in (CLIP-L/14-336's input size).
   */
  public static final int REFERENCE_SIZE = 336;

  /** Smallest shape extent across, reference pixels (issue: 40-100 px). */
  public static final double MIN_SHAPE_SIZE = 40;

  /** Largest shape extent across, reference pixels. */
  public static final double MAX_SHAPE_SIZE = 100;

  /** Largest per-channel deviation of a shape's colour from its nominal table colour. */
  public static final int COLOR_JITTER = 30;

  /** Backgrounds are darker than this luminance (Rec. 601 luma, 0..1). */
  public static final double MAX_BACKGROUND_LUMINANCE = 0.25;

  /** At most this many shapes per scene. */
  public static final int MAX_SHAPES = 3;

  /**
   * Rate at which the pipeline samples frames (DeCo: 1 fps); windows hold frames at whole seconds.
   */
  public static final double SAMPLE_FPS = 1.0;

  /** Largest number of sampled frames in a question's window. */
  public static final int MAX_WINDOW_FRAMES = 16;

  private ShapesWorld() {}

  /**
   * The scene seed of video {@code index} of a set generated from {@code baseSeed}: a SplitMix64
   * mix, so neighbouring indices and seeds give unrelated scenes and the mapping is stable.
   */
  public static long videoSeed(long baseSeed, int index) {
    if (index < 0) {
      throw new IllegalArgumentException("index must be >= 0, got " + index);
    }
    return mix(baseSeed * 0x9E3779B97F4A7C15L + index + 1);
  }

  /** SplitMix64 finaliser. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
