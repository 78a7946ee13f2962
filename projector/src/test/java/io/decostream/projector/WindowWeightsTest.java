package io.decostream.projector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class WindowWeightsTest {

  @Test
  void maxSelectionMatricesRoundTripForDivisibleAndOverlappingGrids() {
    Random r = new Random(3);
    int[][] cases = {{24, 12}, {24, 20}, {27, 12}, {4, 2}};
    for (int[] c : cases) {
      int in = c[0];
      int out = c[1];
      int dim = 5;
      float[] feats = new float[in * in * dim];
      for (int i = 0; i < feats.length; i++) {
        feats[i] = (float) r.nextGaussian();
      }
      float[] dense = AdaptivePool2d.maxSelectionMatrix(feats, in, in, dim, out, out);
      float[] compact = WindowWeights.compress(dense, in, in, out, out);
      assertEquals(out * out * WindowWeights.maxWindowArea(in, in, out, out), compact.length);
      assertArrayEquals(dense, WindowWeights.expand(compact, in, in, out, out), in + "->" + out);
      float[] avg = AdaptivePool2d.averagingMatrix(in, in, out, out);
      assertArrayEquals(
          avg,
          WindowWeights.expand(WindowWeights.compress(avg, in, in, out, out), in, in, out, out));
    }
    assertEquals(4, WindowWeights.maxWindowArea(24, 24, 12, 12));
    assertEquals(9, WindowWeights.maxWindowArea(27, 27, 12, 12));
  }

  @Test
  void rejectsWeightOutsideTheWindowAndWrongSizes() {
    float[] dense = new float[4 * 16];
    dense[15] = 1f; // query 0 (top-left window) pointing at the bottom-right patch
    assertThrows(IllegalArgumentException.class, () -> WindowWeights.compress(dense, 4, 4, 2, 2));
    assertThrows(
        IllegalArgumentException.class, () -> WindowWeights.expand(new float[3], 4, 4, 2, 2));
  }
}
