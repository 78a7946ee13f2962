package io.decostream.shapes;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.StringJoiner;

/**
 * Captions of issue 5: one clause per shape joined with " and ", e.g. {@code a red circle moves
 * left in the top right and a blue square is not moving in the center}.
 *
 * <p>Clause: {@code a {color} {shape} moves {left|right|up|down} in the {position}} or {@code a
 * {color} {shape} is not moving in the {position}}, the position being the grid cell of the centre
 * in the latest frame of the window. Clause order: reading order of the shapes in that frame: by
 * grid cell (top left, top, top right, left, ..., bottom right), then centre y, then centre x. No
 * final period.
 */
public final class Captions {

  private Captions() {}

  /**
   * The caption of {@code scene} for a window whose latest frame is at {@code windowEndSeconds}.
   */
  public static String caption(Scene scene, double windowEndSeconds) {
    double t = windowEndSeconds;
    int ref = ShapesWorld.REFERENCE_SIZE;
    List<ShapeState> states = new ArrayList<>(scene.statesAt(t, ref, ref));
    states.sort(
        Comparator.comparingInt((ShapeState s) -> s.cell().ordinal())
            .thenComparingDouble(ShapeState::centerY)
            .thenComparingDouble(ShapeState::centerX));
    StringJoiner j = new StringJoiner(" and ");
    for (ShapeState s : states) {
      j.add(clause(s.shape(), s.cell()));
    }
    return j.toString();
  }

  /**
   * One clause: "a red circle moves left in the top right" / "a blue square is not moving in the
   * center".
   */
  public static String clause(Shape shape, GridCell cell) {
    String verb =
        shape.motion() == Motion.STILL ? "is not moving" : "moves " + shape.motion().word();
    return "a " + shape.name() + " " + verb + " in the " + cell.words();
  }
}
