package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The grounding check: the object's box grown by one patch, per patch, per token and per map. */
class GroundingCheckTest {

  // 28 px frames, 4x4 patches of 7 px: the box (0,0)-(14,14) grown by 7 px holds the centres at
  // 3.5, 10.5, 17.5 each way, a 3x3 block of patches
  private static final GroundingCheck CHECK =
      new GroundingCheck(new Box(0, 0, 14, 14), 28, 28, 4, 4);

  @Test
  void patchesCountInsideByTheirCentreInTheBoxGrownByOnePatch() {
    boolean[] in = CHECK.patchesInside();
    for (int p = 0; p < 16; p++) {
      assertEquals(p % 4 < 3 && p / 4 < 3, in[p], "patch " + p);
    }
    assertEquals(new Box(-7, -7, 21, 21), CHECK.grownBox());
  }

  @Test
  void tokensCountByTheirShareOfPatchesInside() {
    // 2x2 tokens of 2x2 patches: all of the top left one, half of its neighbours, a quarter of the
    // bottom right one
    assertArrayEquals(new float[] {1, 0.5f, 0.5f, 0.25f}, CHECK.tokenInsideShares(2), 0f);
    assertNull(CHECK.tokenInsideShares(3), "3 tokens do not split 4 patches into whole windows");
    assertEquals(1.0, CHECK.bestPooledShare(2), 1e-12);
    assertEquals(9.0 / 16, CHECK.bestPooledShare(1), 1e-12);
    assertTrue(Double.isNaN(CHECK.bestPooledShare(3)));
  }

  @Test
  void aMapsShareInsideIgnoresNegativeRelevance() {
    float[] map = new float[16];
    map[0] = 3; // inside
    map[15] = 1; // outside
    map[14] = -5; // outside, negative: counts as 0
    assertEquals(0.75, CHECK.shareInside(map), 1e-12);
    assertTrue(Double.isNaN(CHECK.shareInside(new float[16])), "no positive mass");
    assertThrows(IllegalArgumentException.class, () -> CHECK.shareInside(new float[15]));
  }

  @Test
  void theBoxComesFromTheNamedShapeAtTheFramesTime() {
    Shape moving = Fixtures.shape(ShapeKind.SQUARE, ShapeColor.RED, 50, 60, 60, Motion.RIGHT, 3);
    Scene scene = new Scene(1, 16, Fixtures.DARK, List.of(moving));
    QaPair q =
        Questions.answer(scene, Window.latest(10, 16), "what color is the square?").orElseThrow();
    int grid = 24;
    double patch = ShapesWorld.REFERENCE_SIZE / (double) grid;
    assertEquals(
        moving.referenceBox(10).grow(patch),
        GroundingCheck.of(scene, q, 10, grid, grid).orElseThrow().grownBox());
    assertTrue(
        GroundingCheck.of(
                scene,
                Questions.answer(scene, Window.latest(10, 16), "how many shapes are there?")
                    .orElseThrow(),
                10,
                grid,
                grid)
            .isEmpty());
  }
}
