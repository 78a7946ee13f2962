package io.decostream.shapes;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One ShapesWorld clip: a dark background and one to three shapes, each with a constant motion.
 * Everything is in reference coordinates (see {@link Shape}); {@link #statesAt} gives the ground
 * truth in the pixels of any frame size.
 *
 * @param seed the seed it was generated from (informational; 0 for hand-built scenes)
 * @param durationSeconds clip length; shapes stay inside the frame for t in [0, duration]
 * @param background the background
 * @param shapes one to three shapes, no two sharing both colour and kind
 */
public record Scene(long seed, double durationSeconds, Background background, List<Shape> shapes) {

  public Scene {
    Objects.requireNonNull(background, "background");
    Objects.requireNonNull(shapes, "shapes");
    if (!(durationSeconds > 0 && durationSeconds <= 3600)) {
      throw new IllegalArgumentException(
          "durationSeconds must be in (0, 3600], got " + durationSeconds);
    }
    if (shapes.isEmpty() || shapes.size() > ShapesWorld.MAX_SHAPES) {
      throw new IllegalArgumentException(
          "a scene has 1.." + ShapesWorld.MAX_SHAPES + " shapes, got " + shapes.size());
    }
    Set<String> seen = new HashSet<>();
    for (Shape s : shapes) {
      if (!seen.add(s.name())) {
        throw new IllegalArgumentException("two shapes share colour and kind: " + s.name());
      }
    }
    shapes = List.copyOf(shapes);
  }

  /** The shape with this colour and kind, if present. */
  public Optional<Shape> find(ShapeColor color, ShapeKind kind) {
    return shapes.stream().filter(s -> s.color() == color && s.kind() == kind).findFirst();
  }

  /** How many shapes have this kind. */
  public long count(ShapeKind kind) {
    return shapes.stream().filter(s -> s.kind() == kind).count();
  }

  /** How many shapes have this colour. */
  public long count(ShapeColor color) {
    return shapes.stream().filter(s -> s.color() == color).count();
  }

  /**
   * Ground truth of every shape (in scene order) at {@code t} seconds for a {@code width} x {@code
   * height} frame.
   */
  public List<ShapeState> statesAt(double t, int width, int height) {
    List<ShapeState> out = new ArrayList<>(shapes.size());
    for (Shape s : shapes) {
      out.add(stateOf(s, t, width, height));
    }
    return out;
  }

  /** Ground truth of one shape at {@code t} seconds for a {@code width} x {@code height} frame. */
  public static ShapeState stateOf(Shape s, double t, int width, int height) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException(
          "frame size must be positive, got " + width + "x" + height);
    }
    double sx = width / (double) ShapesWorld.REFERENCE_SIZE;
    double sy = height / (double) ShapesWorld.REFERENCE_SIZE;
    double cx = s.centerX(t) * sx;
    double cy = s.centerY(t) * sy;
    double half = s.size() * Math.min(sx, sy) / 2;
    // the cell is taken in reference coordinates, so it is identical at every render size
    GridCell cell =
        GridCell.of(
            s.centerX(t), s.centerY(t), ShapesWorld.REFERENCE_SIZE, ShapesWorld.REFERENCE_SIZE);
    return new ShapeState(s, cx, cy, new Box(cx - half, cy - half, cx + half, cy + half), cell);
  }
}
