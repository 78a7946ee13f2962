package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class CaptionsTest {

  @Test
  void knownSceneInReadingOrder() {
    assertEquals(
        "a red circle moves left in the top right and a blue square is not moving in the center"
            + " and a green triangle moves down in the bottom left",
        Captions.caption(Fixtures.threeShapes(), 10));
    // at t = 2 the triangle (y = 210) is in the left cell, which comes before the center in reading
    // order
    assertEquals(
        "a red circle moves left in the top right and a green triangle moves down in the left"
            + " and a blue square is not moving in the center",
        Captions.caption(Fixtures.threeShapes(), 2));
  }

  @Test
  void issueExample() {
    Scene s =
        new Scene(
            0,
            16,
            Fixtures.DARK,
            List.of(
                Fixtures.shape(ShapeKind.SQUARE, ShapeColor.BLUE, 50, 168, 168, Motion.STILL, 0),
                Fixtures.shape(ShapeKind.CIRCLE, ShapeColor.RED, 60, 300, 60, Motion.LEFT, 2)));
    assertEquals(
        "a red circle moves left in the top right and a blue square is not moving in the center",
        Captions.caption(s, 0));
    assertEquals(
        "a blue square is not moving in the center",
        Captions.caption(new Scene(0, 16, Fixtures.DARK, List.of(s.shapes().get(0))), 5));
  }

  @Test
  void generatedCaptionsFollowTheGrammar() {
    String clause =
        "a (red|green|blue|yellow|white|purple) (circle|square|triangle) "
            + "(moves (left|right|up|down)|is not moving) in the "
            + "(top left|top|top right|left|center|right|bottom left|bottom|bottom right)";
    Pattern p = Pattern.compile(clause + "( and " + clause + "){0,2}");
    for (long seed = 0; seed < 300; seed++) {
      Scene s = SceneGenerator.generate(seed, 16);
      String c = Captions.caption(s, seed % 16);
      assertTrue(p.matcher(c).matches(), c);
      assertEquals(s.shapes().size(), c.split(" and ").length);
    }
  }
}
