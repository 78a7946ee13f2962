package io.decostream.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Draws random ShapesWorld scenes, deterministically from a seed (one {@link SplittableRandom}).
 *
 * <p>Rules (issue 5 "the visual world", plus what makes every question well-defined):
 *
 * <ul>
 *   <li>background: plain, mild static noise or a diagonal gradient, each channel 0..40 (luminance
 *       at most about 16%, noise adds at most 8/255), so always below 25%;
 *   <li>1-3 shapes (uniform), kind and colour uniform, no two sharing both; colour = table colour
 *       plus an independent uniform jitter in [-30, 30] per channel (clamped to 0..255);
 *   <li>size uniform in [40, 100] reference pixels;
 *   <li>motion uniform over left, right, up, down, not moving; speed uniform in [{@value
 *       #MIN_SPEED}, {@value #MAX_SPEED}] reference px/s (at least 8 px between two 1 fps frames,
 *       so the direction is visible), capped so the shape's whole path fits;
 *   <li>start position uniform among those that keep the whole box at least {@value #EDGE_MARGIN}
 *       px inside the canvas for the whole clip;
 *   <li>shapes never overlap: at every 1/16 s of the clip the boxes of any two shapes are at least
 *       {@value #MIN_GAP} px apart on some axis (so counts and positions are visible in every
 *       frame). A shape that fails is redrawn; after {@value #MAX_TRIES} failures the whole scene
 *       is redrawn.
 * </ul>
 */
public final class SceneGenerator {

  /** Slowest moving shape, reference px per second. */
  public static final double MIN_SPEED = 8;

  /** Fastest moving shape, reference px per second. */
  public static final double MAX_SPEED = 16;

  /** Gap between a shape's box and the canvas edge, reference px. */
  public static final double EDGE_MARGIN = 2;

  /** Smallest gap between two shapes' boxes at any time, reference px. */
  public static final double MIN_GAP = 4;

  /** Redraws of one shape before the scene is restarted. */
  public static final int MAX_TRIES = 200;

  private static final double CHECK_STEP = 1.0 / 16;

  /**
   * The ranges a scene is drawn from.
   *
   * @param minSpeed slowest moving shape, reference px/s
   * @param maxSpeed fastest moving shape, reference px/s (capped per shape so its path fits)
   * @param maxChannel background channels are drawn in 0..maxChannel
   * @param kinds background kinds drawn from: the first {@code kinds} of {@link Background.Kind}
   * @param maxNoise noise and block amplitudes are drawn in 3..maxNoise
   */
  public record Ranges(double minSpeed, double maxSpeed, int maxChannel, int kinds, int maxNoise) {

    /** The world of issue 5, which the shipped model was trained on (8..16 px/s). */
    public static final Ranges DEFAULT = new Ranges(MIN_SPEED, MAX_SPEED, 40, 3, 8);

    /**
     * The wider world of issue 23 point 4: speeds 5..36 px/s (the slow end is below the default
     * world's visible 8 px per sampled frame), brighter backgrounds and the vignette and block
     * backgrounds besides the default three; still dark (at most 48 + 12 of 255).
     */
    public static final Ranges WIDE = new Ranges(5, 36, 48, 5, 12);

    public Ranges {
      if (!(minSpeed > 0 && maxSpeed >= minSpeed)
          || maxChannel < 0
          || kinds < 1
          || kinds > Background.Kind.values().length
          || maxNoise < 3
          || maxNoise > 16) {
        throw new IllegalArgumentException("invalid scene ranges: " + this);
      }
    }
  }

  private SceneGenerator() {}

  /**
   * A random scene of the default world, {@code durationSeconds} long, a function of {@code seed}.
   */
  public static Scene generate(long seed, double durationSeconds) {
    return generate(seed, durationSeconds, Ranges.DEFAULT);
  }

  /** A random scene drawn from {@code ranges}, a pure function of {@code seed}. */
  public static Scene generate(long seed, double durationSeconds, Ranges ranges) {
    if (!(durationSeconds > 0 && durationSeconds <= 3600)) {
      throw new IllegalArgumentException(
          "durationSeconds must be in (0, 3600], got " + durationSeconds);
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    Background bg = background(rnd, ranges);
    int count = 1 + rnd.nextInt(ShapesWorld.MAX_SHAPES);
    for (int attempt = 0; ; attempt++) {
      List<Shape> shapes = new ArrayList<>(count);
      boolean ok = true;
      for (int i = 0; i < count && ok; i++) {
        ok = false;
        for (int tries = 0; tries < MAX_TRIES; tries++) {
          Shape s = shape(rnd, durationSeconds, ranges);
          if (compatible(s, shapes, durationSeconds)) {
            shapes.add(s);
            ok = true;
            break;
          }
        }
      }
      if (ok) {
        return new Scene(seed, durationSeconds, bg, shapes);
      }
      if (attempt > 1000) {
        throw new IllegalStateException("could not place " + count + " shapes for seed " + seed);
      }
    }
  }

  static Background background(SplittableRandom rnd, Ranges ranges) {
    Background.Kind kind = Background.Kind.values()[rnd.nextInt(ranges.kinds())];
    int c = ranges.maxChannel() + 1;
    Rgb base = new Rgb(rnd.nextInt(c), rnd.nextInt(c), rnd.nextInt(c));
    Rgb second = new Rgb(rnd.nextInt(c), rnd.nextInt(c), rnd.nextInt(c));
    boolean grainy = kind == Background.Kind.NOISE || kind == Background.Kind.BLOCKS;
    int noise = grainy ? 3 + rnd.nextInt(ranges.maxNoise() - 2) : 0;
    boolean twoColours = kind == Background.Kind.GRADIENT || kind == Background.Kind.RADIAL;
    return new Background(kind, base, twoColours ? second : base, noise, rnd.nextLong());
  }

  static Shape shape(SplittableRandom rnd, double duration, Ranges ranges) {
    ShapeKind kind = ShapeKind.values()[rnd.nextInt(ShapeKind.values().length)];
    ShapeColor color = ShapeColor.values()[rnd.nextInt(ShapeColor.values().length)];
    Rgb n = color.nominal();
    Rgb rgb = new Rgb(jitter(n.r(), rnd), jitter(n.g(), rnd), jitter(n.b(), rnd));
    double size =
        ShapesWorld.MIN_SHAPE_SIZE
            + rnd.nextDouble() * (ShapesWorld.MAX_SHAPE_SIZE - ShapesWorld.MIN_SHAPE_SIZE);
    Motion motion = Motion.values()[rnd.nextInt(Motion.values().length)];
    double lo = EDGE_MARGIN + size / 2;
    double hi = ShapesWorld.REFERENCE_SIZE - EDGE_MARGIN - size / 2;
    double travel = hi - lo;
    double speed = 0;
    if (motion != Motion.STILL) {
      double cap = Math.min(ranges.maxSpeed(), travel / duration);
      double min = Math.min(ranges.minSpeed(), cap);
      speed = min + rnd.nextDouble() * (cap - min);
      if (!(speed > 0)) {
        speed = cap; // only reachable for absurd durations; Shape validates > 0
      }
    }
    double path = speed * duration;
    double along =
        lo + rnd.nextDouble() * Math.max(0, travel - path); // start of the path's lower end
    double across = lo + rnd.nextDouble() * travel;
    double x0;
    double y0;
    switch (motion) {
      case RIGHT -> {
        x0 = along;
        y0 = across;
      }
      case LEFT -> {
        x0 = along + path;
        y0 = across;
      }
      case DOWN -> {
        x0 = across;
        y0 = along;
      }
      case UP -> {
        x0 = across;
        y0 = along + path;
      }
      default -> {
        x0 = lo + rnd.nextDouble() * travel;
        y0 = across;
      }
    }
    return new Shape(kind, color, rgb, size, x0, y0, motion, speed);
  }

  private static int jitter(int v, SplittableRandom rnd) {
    return Math.max(
        0,
        Math.min(
            255, v + rnd.nextInt(2 * ShapesWorld.COLOR_JITTER + 1) - ShapesWorld.COLOR_JITTER));
  }

  /** Unique colour+kind and never closer than MIN_GAP to any placed shape during the clip. */
  static boolean compatible(Shape s, List<Shape> placed, double duration) {
    for (Shape o : placed) {
      if (o.color() == s.color() && o.kind() == s.kind()) {
        return false;
      }
    }
    int steps = (int) Math.ceil(duration / CHECK_STEP);
    for (int k = 0; k <= steps; k++) {
      double t = Math.min(duration, k * CHECK_STEP);
      Box a = s.referenceBox(t).grow(MIN_GAP / 2);
      for (Shape o : placed) {
        if (a.intersectionArea(o.referenceBox(t).grow(MIN_GAP / 2)) > 0) {
          return false;
        }
      }
    }
    return true;
  }
}
