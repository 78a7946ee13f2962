package io.decostream.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.Grounding;
import io.decostream.schemas.Tensors;
import io.decostream.shapes.Motion;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.Shape;
import io.decostream.shapes.ShapeColor;
import io.decostream.shapes.ShapeKind;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The grounding check of {@code deco eval} (issue 5 point 6) and its pooled-resolution ceiling, on
 * hand-made maps.
 */
class EvalGroundingTest {

  private static EvalCommand.Asked square(double x, double y, double size) {
    Scene generated = SceneGenerator.generate(42, 16);
    Shape sq =
        new Shape(
            ShapeKind.SQUARE,
            ShapeColor.RED,
            generated.shapes().get(0).rgb(),
            size,
            x,
            y,
            Motion.STILL,
            0);
    Scene scene = new Scene(1, 16, generated.background(), List.of(sq));
    return new EvalCommand.Asked(
        "s",
        scene,
        new QaPair(QuestionType.COLOR, "what color is the square?", "red", null, ShapeKind.SQUARE),
        "q",
        true,
        3);
  }

  /**
   * Two frames of 9x9 patches with 9 tokens each; the latest frame's map is {@code latest}, the
   * first is noise.
   */
  private static Grounding map(float[] latest) {
    float[] all = new float[2 * 81];
    java.util.Arrays.fill(all, 0, 81, 5f);
    System.arraycopy(latest, 0, all, 81, 81);
    return Grounding.newBuilder()
        .setRefId("q")
        .setStreamId("s")
        .setKind("answer")
        .setFrameIndices(List.of(0L, 1L))
        .setGridHeight(9)
        .setGridWidth(9)
        .setTextToPatch(ByteBuffer.wrap(Tensors.toF32(all)))
        .setProducedAtMillis(1)
        .setTokensPerFrame(9)
        .build();
  }

  private static float[] window(int row, int col) {
    float[] m = new float[81];
    for (int r = row * 3; r < row * 3 + 3; r++) {
      for (int c = col * 3; c < col * 3 + 3; c++) {
        m[r * 9 + c] = 1f / 9;
      }
    }
    return m;
  }

  @Test
  void aCentredSquareFillsTheCentreWindowAndOnlyThatMapPasses() {
    // 60 px square centred at (168, 168): the box grown by one 37.3 px patch spans 100.7..235.3,
    // which holds the
    // centres of patches 3..5 in both directions, i.e. exactly the centre pooling window
    EvalCommand.Asked a = square(168, 168, 60);
    assertEquals(1.0, EvalCommand.massInsideShape(map(window(1, 1)), a), 1e-9);
    assertEquals(0.0, EvalCommand.massInsideShape(map(window(0, 0)), a), 1e-9);
    float[] uniform = new float[81];
    java.util.Arrays.fill(uniform, 1f);
    assertEquals(
        9.0 / 81,
        EvalCommand.massInsideShape(map(uniform), a),
        1e-9,
        "only the latest frame counts");
    assertEquals(1.0, EvalCommand.bestPooledShare(map(uniform), a), 1e-9);
  }

  @Test
  void aSmallOffCentreSquareCannotReach80PercentAtTokenResolution() {
    // 40 px square centred at (130, 168): grown box x 72.7..187.3 holds patch columns 2..4, rows
    // 3..5; the best window
    // (the centre one) has 6 of its 9 patches inside, so no map that is uniform per window can
    // reach 80%
    EvalCommand.Asked a = square(130, 168, 40);
    assertEquals(6.0 / 9, EvalCommand.bestPooledShare(map(window(1, 1)), a), 1e-9);
    assertEquals(6.0 / 9, EvalCommand.massInsideShape(map(window(1, 1)), a), 1e-9);
    // a patch-resolution map on exactly those 9 patches would pass
    float[] sharp = new float[81];
    for (int r = 3; r <= 5; r++) {
      for (int c = 2; c <= 4; c++) {
        sharp[r * 9 + c] = 1f;
      }
    }
    assertEquals(1.0, EvalCommand.massInsideShape(map(sharp), a), 1e-9);
    assertTrue(EvalCommand.bestPooledShare(map(sharp), a) < 0.8);
  }
}
