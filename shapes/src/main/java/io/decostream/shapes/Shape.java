package io.decostream.shapes;

import java.util.Objects;

/**
 * One shape of a scene, in <em>reference coordinates</em>: a {@value ShapesWorld#REFERENCE_SIZE} x
 * {@value ShapesWorld#REFERENCE_SIZE} canvas. Rendering at another size scales positions by {@code
 * width/336}, {@code height/336} and the size by the smaller of the two, so a shape inside the
 * reference canvas is inside every frame and its grid cell is the same at every size.
 *
 * @param kind circle, square or triangle
 * @param color the named colour (what answers say)
 * @param rgb the actual, jittered colour (what is drawn)
 * @param size extent across in reference pixels: circle diameter, square side, triangle base and
 *     height
 * @param x0 centre x at t = 0 (reference pixels)
 * @param y0 centre y at t = 0 (reference pixels)
 * @param motion direction, or STILL
 * @param speed reference pixels per second (0 when STILL, &gt; 0 otherwise)
 */
public record Shape(
    ShapeKind kind,
    ShapeColor color,
    Rgb rgb,
    double size,
    double x0,
    double y0,
    Motion motion,
    double speed) {

  public Shape {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(color, "color");
    Objects.requireNonNull(rgb, "rgb");
    Objects.requireNonNull(motion, "motion");
    if (!(size > 0)) {
      throw new IllegalArgumentException("size must be > 0, got " + size);
    }
    if (!Double.isFinite(x0) || !Double.isFinite(y0)) {
      throw new IllegalArgumentException("start position must be finite, got " + x0 + "," + y0);
    }
    if (motion == Motion.STILL ? speed != 0 : !(speed > 0)) {
      throw new IllegalArgumentException(
          "speed must be 0 for a still shape and > 0 for a moving one, got "
              + speed
              + " for "
              + motion);
    }
  }

  /** Centre x at time {@code t} seconds (reference pixels). */
  public double centerX(double t) {
    return x0 + motion.dx() * speed * t;
  }

  /** Centre y at time {@code t} seconds (reference pixels). */
  public double centerY(double t) {
    return y0 + motion.dy() * speed * t;
  }

  /** Bounding box at time {@code t} in reference pixels. */
  public Box referenceBox(double t) {
    double h = size / 2;
    double cx = centerX(t);
    double cy = centerY(t);
    return new Box(cx - h, cy - h, cx + h, cy + h);
  }

  /** "red circle". */
  public String name() {
    return color.word() + " " + kind.word();
  }
}
