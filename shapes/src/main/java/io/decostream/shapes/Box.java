package io.decostream.shapes;

/** An axis-aligned box in pixels: {@code [x0, x1] x [y0, y1]} with x0 &le; x1, y0 &le; y1. */
public record Box(double x0, double y0, double x1, double y1) {

  public Box {
    if (!(x0 <= x1 && y0 <= y1)) {
      throw new IllegalArgumentException(
          "box corners out of order: " + x0 + "," + y0 + " .. " + x1 + "," + y1);
    }
  }

  public double width() {
    return x1 - x0;
  }

  public double height() {
    return y1 - y0;
  }

  public double area() {
    return width() * height();
  }

  public boolean contains(double x, double y) {
    return x >= x0 && x <= x1 && y >= y0 && y <= y1;
  }

  /** Area shared with {@code o} (0 when disjoint). */
  public double intersectionArea(Box o) {
    double w = Math.min(x1, o.x1) - Math.max(x0, o.x0);
    double h = Math.min(y1, o.y1) - Math.max(y0, o.y0);
    return w > 0 && h > 0 ? w * h : 0;
  }

  /** This box grown by {@code m} on every side (used for "box grown by one patch" checks). */
  public Box grow(double m) {
    return new Box(x0 - m, y0 - m, x1 + m, y1 + m);
  }

  /** Whether the box lies inside a {@code width} x {@code height} frame. */
  public boolean insideFrame(double width, double height) {
    return x0 >= 0 && y0 >= 0 && x1 <= width && y1 <= height;
  }
}
