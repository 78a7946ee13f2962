package io.decostream.shapes;

import java.util.List;

/** Hand-built scenes with known answers. */
final class Fixtures {

  static final Background DARK =
      new Background(Background.Kind.PLAIN, new Rgb(10, 12, 20), new Rgb(10, 12, 20), 0, 1);

  private Fixtures() {}

  static Shape shape(
      ShapeKind k, ShapeColor c, double size, double x0, double y0, Motion m, double speed) {
    return new Shape(k, c, c.nominal(), size, x0, y0, m, speed);
  }

  /**
   * At t = 10 s: a red circle moving left in the top right (280, 60), a blue square still in the
   * center (168, 168), a green triangle moving down in the bottom left (60, 250).
   */
  static Scene threeShapes() {
    return new Scene(
        0,
        16,
        DARK,
        List.of(
            shape(ShapeKind.CIRCLE, ShapeColor.RED, 60, 300, 60, Motion.LEFT, 2),
            shape(ShapeKind.SQUARE, ShapeColor.BLUE, 50, 168, 168, Motion.STILL, 0),
            shape(ShapeKind.TRIANGLE, ShapeColor.GREEN, 60, 60, 200, Motion.DOWN, 5)));
  }
}
