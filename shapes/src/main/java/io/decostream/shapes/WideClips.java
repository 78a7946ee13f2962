package io.decostream.shapes;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The wider held-out clips of issue 23 point 4: the videos the shipped model was not made for. Clip
 * {@code i} of base seed {@code S} draws, from {@link ShapesWorld#videoSeed videoSeed(S, i)} alone:
 *
 * <ul>
 *   <li>a frame size from {@link #SIZES}: square, 4:3 and 16:9, 336x336 up to 640x360;
 *   <li>a length of 6 to 10 s in half seconds, so the window at its last sampled second has 6 to 10
 *       frames, fewer than the worker's 16;
 *   <li>a frame rate from {@link #FPS} (25 fps mostly);
 *   <li>a scene from {@link SceneGenerator.Ranges#WIDE}: speeds 5 to 36 px/s at 336 px, and the
 *       vignette and block backgrounds besides the default three.
 * </ul>
 *
 * Ground truth keeps the world's rules at every size: positions are the 3x3 cell of the whole
 * frame, shapes keep their proportions (their size scales with the shorter side).
 */
public final class WideClips {

  /** Frame sizes (width, height) drawn uniformly. */
  public static final List<int[]> SIZES =
      List.of(
          new int[] {336, 336},
          new int[] {384, 384},
          new int[] {448, 336},
          new int[] {480, 360},
          new int[] {512, 288},
          new int[] {576, 324},
          new int[] {640, 360});

  /** Frame rates drawn uniformly (25 twice as often as the others). */
  public static final List<Double> FPS = List.of(24.0, 25.0, 25.0, 30.0);

  /** Shortest and longest clip, seconds. */
  public static final double MIN_SECONDS = 6;

  public static final double MAX_SECONDS = 10;

  /** One held-out clip: how it is encoded and what it shows. */
  public record Clip(VideoSpec spec, Scene scene) {}

  private WideClips() {}

  /** Clip {@code index} of the set with {@code baseSeed}. */
  public static Clip clip(long baseSeed, int index) {
    long seed = ShapesWorld.videoSeed(baseSeed, index);
    SplittableRandom rnd = new SplittableRandom(ShapesWorld.mix(seed ^ 0x3C6EF372FE94F82BL));
    int[] wh = SIZES.get(rnd.nextInt(SIZES.size()));
    double fps = FPS.get(rnd.nextInt(FPS.size()));
    int halves = (int) Math.round(2 * (MAX_SECONDS - MIN_SECONDS));
    double seconds = MIN_SECONDS + rnd.nextInt(halves + 1) / 2.0;
    VideoSpec spec = new VideoSpec(wh[0], wh[1], fps, seconds);
    return new Clip(spec, SceneGenerator.generate(seed, seconds, SceneGenerator.Ranges.WIDE));
  }
}
