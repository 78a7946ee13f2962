package io.decostream.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Training samples straight from the world, without video files (what the Java trainer calls): a
 * scene, the frames of one window sampled at 1 fps (frames at whole seconds, as the frames stage
 * samples a real video), the questions that may be asked of that window (one per type, yes/no
 * balanced) and the caption. Frames are rendered losslessly; the pipeline's frames also pass
 * through H.264, which this does not imitate.
 */
public final class ShapesDataset {

  /**
   * What to generate.
   *
   * @param width frame width in pixels (8..4096)
   * @param height frame height in pixels (8..4096)
   * @param clipSeconds length of the clip the window is taken from (1..600)
   * @param maxFrames most frames in a window (1..64; issue 5: up to 16)
   */
  public record SampleSpec(int width, int height, double clipSeconds, int maxFrames) {
    public SampleSpec {
      if (width < 8 || width > 4096 || height < 8 || height > 4096) {
        throw new IllegalArgumentException(
            "frame size must be in 8..4096, got " + width + "x" + height);
      }
      if (!(clipSeconds >= 1 && clipSeconds <= 600)) {
        throw new IllegalArgumentException("clipSeconds must be in 1..600, got " + clipSeconds);
      }
      if (maxFrames < 1 || maxFrames > 64) {
        throw new IllegalArgumentException("maxFrames must be in 1..64, got " + maxFrames);
      }
    }

    /** 336x336 frames, 16 s clips, windows of up to 16 frames. */
    public static SampleSpec defaults() {
      return new SampleSpec(
          ShapesWorld.REFERENCE_SIZE,
          ShapesWorld.REFERENCE_SIZE,
          16,
          ShapesWorld.MAX_WINDOW_FRAMES);
    }

    /**
     * The last whole second with a sampled frame: the largest integer strictly below clipSeconds.
     */
    public int lastSecond() {
      return (int) Math.ceil(clipSeconds - 1e-9) - 1;
    }
  }

  /**
   * One frame of a window.
   *
   * @param timeSeconds the frame's time in the clip
   * @param width pixels
   * @param height pixels
   * @param rgb row-major R,G,B bytes, {@code width * height * 3} (not copied; equality is by
   *     reference)
   */
  public record Frame(double timeSeconds, int width, int height, byte[] rgb) {
    public Frame {
      Objects.requireNonNull(rgb, "rgb");
      if (rgb.length != width * height * 3) {
        throw new IllegalArgumentException(
            "rgb has " + rgb.length + " bytes, expected " + width * height * 3);
      }
    }
  }

  /**
   * A training sample.
   *
   * @param seed the scene's seed
   * @param scene the scene (ground truth at any time: {@link Scene#statesAt})
   * @param window first and latest frame time
   * @param frames the window's frames, oldest first
   * @param questions one question per type that may be asked of this window ({@link
   *     Questions#samplePerType})
   * @param caption the caption for the window's latest frame
   */
  public record Sample(
      long seed,
      Scene scene,
      Window window,
      List<Frame> frames,
      List<QaPair> questions,
      String caption) {
    public Sample {
      frames = List.copyOf(frames);
      questions = List.copyOf(questions);
    }
  }

  private ShapesDataset() {}

  /**
   * The sample of {@code seed}: scene {@code SceneGenerator.generate(seed, clipSeconds)}, window
   * end uniform over the sampled seconds 0..lastSecond, window = the last maxFrames frames up to
   * it.
   */
  public static Sample sample(long seed, SampleSpec spec) {
    Scene scene = SceneGenerator.generate(seed, spec.clipSeconds());
    SplittableRandom rnd = new SplittableRandom(ShapesWorld.mix(seed ^ 0x5DEECE66DL));
    int end = rnd.nextInt(spec.lastSecond() + 1);
    return sample(scene, end, spec, rnd);
  }

  /**
   * The sample for a given scene and window end (a whole second), questions drawn with {@code rnd}.
   */
  public static Sample sample(
      Scene scene, int windowEndSecond, SampleSpec spec, SplittableRandom rnd) {
    if (windowEndSecond < 0 || windowEndSecond > spec.lastSecond()) {
      throw new IllegalArgumentException(
          "window end must be a sampled second in 0.."
              + spec.lastSecond()
              + ", got "
              + windowEndSecond);
    }
    Window window = Window.latest(windowEndSecond, spec.maxFrames());
    List<Frame> frames = new ArrayList<>();
    for (int t = (int) window.startSeconds(); t <= windowEndSecond; t++) {
      frames.add(
          new Frame(
              t,
              spec.width(),
              spec.height(),
              ShapesRenderer.renderRgb(scene, t, spec.width(), spec.height())));
    }
    return new Sample(
        scene.seed(),
        scene,
        window,
        frames,
        Questions.samplePerType(scene, window, rnd),
        Captions.caption(scene, windowEndSecond));
  }

  /**
   * Samples {@code first .. first+count-1} of the set with {@code baseSeed} (sample i has seed
   * {@link ShapesWorld#videoSeed}).
   */
  public static Stream<Sample> samples(long baseSeed, int first, int count, SampleSpec spec) {
    if (first < 0 || count < 0) {
      throw new IllegalArgumentException(
          "first and count must be >= 0, got " + first + ", " + count);
    }
    return IntStream.range(first, first + count)
        .mapToObj(i -> sample(ShapesWorld.videoSeed(baseSeed, i), spec));
  }
}
