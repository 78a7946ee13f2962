package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.shapes.Motion;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapeColor;
import io.decostream.shapes.ShapeKind;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VisionPretrainerTest {

  /** A still shape of the given look, centred at (x, y) (reference pixels). */
  private static io.decostream.shapes.Shape still(
      ShapeKind kind, ShapeColor color, double size, double x, double y) {
    return new io.decostream.shapes.Shape(
        kind,
        color,
        SceneGenerator.generate(42, 16).shapes().get(0).rgb(),
        size,
        x,
        y,
        Motion.STILL,
        0);
  }

  /** A 16 s scene of these shapes on a generated background. */
  private static Scene sceneOf(io.decostream.shapes.Shape... shapes) {
    return new Scene(
        1, 16, SceneGenerator.generate(42, 16).background(), java.util.List.of(shapes));
  }

  @Test
  void patchTargetsNameTheShapeCoveringEachPatch() {
    // one shape only, standing still, 80 px across centred at (84, 252): patches of a 9x9 grid are
    // 37.3 px
    Scene scene = sceneOf(still(ShapeKind.TRIANGLE, ShapeColor.BLUE, 80, 84, 252));
    int[] cls = VisionPretrainer.patchClasses(scene, 3, 9);
    int blueTriangle = 1 + ShapeColor.BLUE.ordinal() * 3 + ShapeKind.TRIANGLE.ordinal();
    // the box spans x 44..124 and y 212..292: columns 1..3 and rows 5..7 hold most of it
    assertEquals(blueTriangle, cls[6 * 9 + 2]);
    assertEquals(0, cls[0]);
    assertEquals(0, cls[6 * 9 + 6]);
    long covered = Arrays.stream(cls).filter(c -> c != 0).count();
    assertTrue(covered >= 4 && covered <= 16, "covered patches: " + covered);
    assertTrue(Arrays.stream(cls).allMatch(c -> c == 0 || c == blueTriangle));
  }

  /**
   * A wide frame (issue 23 point 4) reaches the tower squeezed to a square: the targets use the
   * shape's box as the renderer draws it (Scene.stateOf), mapped back to reference coordinates.
   */
  @Test
  void squeezedFramesTargetTheBoxTheRendererDraws() {
    io.decostream.shapes.Shape tri = still(ShapeKind.TRIANGLE, ShapeColor.BLUE, 80, 84, 252);
    Scene scene = sceneOf(tri);
    int w = 640;
    int h = 360;
    io.decostream.shapes.Box drawn = Scene.stateOf(tri, 3, w, h).box();
    double sx = w / 336.0;
    double sy = h / 336.0;
    io.decostream.shapes.Box squeezed = VisionPretrainer.squeezedBox(tri, 3, w, h);
    assertEquals(drawn.x0() / sx, squeezed.x0(), 1e-9);
    assertEquals(drawn.x1() / sx, squeezed.x1(), 1e-9);
    assertEquals(drawn.y0() / sy, squeezed.y0(), 1e-9);
    assertEquals(drawn.y1() / sy, squeezed.y1(), 1e-9);
    // the shape keeps its aspect in the frame, so on the square it is 45 px wide and 80 tall
    assertEquals(45.0, squeezed.x1() - squeezed.x0(), 0.01);
    assertEquals(80.0, squeezed.y1() - squeezed.y0(), 0.01);
    assertEquals(tri.referenceBox(3), VisionPretrainer.squeezedBox(tri, 3, 384, 384));
    int[] square = VisionPretrainer.patchClasses(scene, 3, 9);
    int[] wide = VisionPretrainer.patchClasses(scene, 3, 9, w, h);
    long a = Arrays.stream(square).filter(c -> c != 0).count();
    long b = Arrays.stream(wide).filter(c -> c != 0).count();
    assertTrue(b < a, "the narrower squeezed box covers fewer patches: " + b + " vs " + a);
    assertTrue(b > 0);
  }

  @Test
  void aWideLegDrawsWideFrames(@TempDir Path dir) throws Exception {
    Path init = dir.resolve("init");
    TinyPack.write(init, ProjectorComparisonTest.spec(), 3);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    new VisionPretrainer(
            new VisionPretrainer.Settings(dir.resolve("out"), 2, 2, 1e-2, 1, 7, 1, false, 1.0),
            new PrintStream(log, true, StandardCharsets.UTF_8))
        .run(init);
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("vision step 2/2"));
    assertThrows(
        IllegalArgumentException.class,
        () -> new VisionPretrainer.Settings(dir, 2, 2, 1e-2, 1, 7, 1, false, 1.5));
  }

  @Test
  void trainsTheTowerAndLeavesTheRestOfThePackAsItWas(@TempDir Path dir) throws Exception {
    Path init = dir.resolve("init");
    TinyPack.write(init, ProjectorComparisonTest.spec(), 3);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Path fin =
        new VisionPretrainer(
                new VisionPretrainer.Settings(dir.resolve("out"), 3, 2, 1e-2, 1, 7, 1),
                new PrintStream(log, true, StandardCharsets.UTF_8))
            .run(init);
    assertTrue(
        log.toString(StandardCharsets.UTF_8).contains("vision step 3/3"),
        log.toString(StandardCharsets.UTF_8));
    try (SafeTensors a = SafeTensors.open(init.resolve("model.safetensors"));
        SafeTensors b = SafeTensors.open(fin.resolve("model.safetensors"))) {
      assertEquals(a.names(), b.names(), "same tensors, no training heads left in the pack");
      boolean visionMoved = false;
      for (String n : a.names()) {
        boolean same = Arrays.equals(a.readFloats(n), b.readFloats(n));
        if (n.startsWith("vision_tower")) {
          visionMoved |= !same;
        } else {
          assertTrue(same, n + " must not change in the vision stage");
        }
      }
      assertTrue(visionMoved);
    }
  }

  @Test
  void cellTargetsNameTheCellHoldingEachCentreAndWhereInside() {
    // centre (84, 252) on a 3x3 grid of 112 px cells: column 0 at 3/4 of its width, row 2 at 1/4 of
    // its height
    Scene scene =
        sceneOf(
            still(ShapeKind.TRIANGLE, ShapeColor.BLUE, 80, 84, 252),
            still(ShapeKind.CIRCLE, ShapeColor.RED, 50, 300, 20));
    VisionPretrainer.CellTargets t = VisionPretrainer.cellTargets(scene, 3, 3);
    int blueTriangle = ShapeColor.BLUE.ordinal() * 3 + ShapeKind.TRIANGLE.ordinal();
    int redCircle = ShapeColor.RED.ordinal() * 3 + ShapeKind.CIRCLE.ordinal();
    assertEquals(1f, t.hot()[6 * 18 + blueTriangle]);
    assertEquals(1f, t.hot()[2 * 18 + redCircle]);
    assertEquals(2.0, t.mask()[6] + t.mask()[2]);
    double sum = 0;
    for (float v : t.hot()) {
      sum += v;
    }
    assertEquals(2.0, sum, "one class in one cell per shape");
    assertEquals(0.5, t.offset()[6 * 2], 1e-6);
    assertEquals(-0.5, t.offset()[6 * 2 + 1], 1e-6);
    assertEquals(2 * (300.0 / 112 - 2) - 1, t.offset()[2 * 2], 1e-5);
    assertEquals(0f, t.mask()[4]);
    assertEquals(1 + ShapeKind.TRIANGLE.ordinal(), t.kind()[6]);
    assertEquals(1 + ShapeColor.BLUE.ordinal(), t.colour()[6]);
    assertEquals(1 + ShapeKind.CIRCLE.ordinal(), t.kind()[2]);
    assertEquals(0, t.kind()[4]);
    assertEquals(0, t.colour()[4]);
  }

  @Test
  void cellTargetsTrainExtraHeadsThatAreDroppedToo(@TempDir Path dir) throws Exception {
    Path init = dir.resolve("init");
    TinyPack.write(init, ProjectorComparisonTest.spec(), 3);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Path fin =
        new VisionPretrainer(
                new VisionPretrainer.Settings(dir.resolve("out"), 2, 2, 1e-2, 1, 7, 1, true, 0),
                new PrintStream(log, true, StandardCharsets.UTF_8))
            .run(init);
    String text = log.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("cell recall") && text.contains("offset rmse"), text);
    try (SafeTensors a = SafeTensors.open(init.resolve("model.safetensors"));
        SafeTensors b = SafeTensors.open(fin.resolve("model.safetensors"))) {
      assertEquals(a.names(), b.names(), "no training heads left in the pack");
    }
  }
}
