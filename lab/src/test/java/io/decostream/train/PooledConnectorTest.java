package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.decostream.projector.MlpProjector;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PooledConnectorTest {

  /**
   * An MLP that is the identity on positive inputs would hide the pooling; use an exact linear
   * check instead.
   */
  private static MlpProjector identityLike(NDManager m, int d) {
    // linear_1 = I, linear_2 = I: y = GELU(x) elementwise, so pooling shows through unchanged up to
    // GELU
    return new MlpProjector(m.eye(d), m.zeros(new Shape(d)), m.eye(d), m.zeros(new Shape(d)));
  }

  private static float gelu(float x) {
    return (float) (0.5 * x * (1 + erf(x / Math.sqrt(2))));
  }

  private static double erf(double x) {
    // Abramowitz-Stegun 7.1.26 is too coarse for 1e-5; integrate instead (x is small here)
    int n = 20000;
    double h = x / n;
    double sum = 0;
    for (int i = 0; i < n; i++) {
      double t = (i + 0.5) * h;
      sum += Math.exp(-t * t);
    }
    return 2 / Math.sqrt(Math.PI) * sum * h;
  }

  @Test
  void averageAndMaxPoolEachCellOfTheGridThenProject() {
    try (NDManager m = NDManager.newBaseManager()) {
      int g = 6;
      int d = 2;
      float[] v = new float[g * g * d];
      for (int p = 0; p < g * g; p++) {
        v[p * d] = p * 0.01f; // channel 0: the patch index (row-major)
        v[p * d + 1] = -(p % 7) * 0.02f; // channel 1: something non-monotone
      }
      NDArray x = m.create(v, new Shape(1, g * g, d));
      PooledConnector avg =
          new PooledConnector(PooledConnector.Pool.AVG, g, 2, identityLike(m, d), Map.of());
      PooledConnector max =
          new PooledConnector(PooledConnector.Pool.MAX, g, 2, identityLike(m, d), Map.of());
      PooledConnector none =
          new PooledConnector(PooledConnector.Pool.NONE, g, 1, identityLike(m, d), Map.of());
      assertEquals(9, avg.tokensPerFrame());
      assertEquals(36, none.tokensPerFrame());
      float[] a = avg.forward(x).toFloatArray();
      float[] mx = max.forward(x).toFloatArray();
      assertEquals(9 * d, a.length);
      for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++) {
          for (int ch = 0; ch < d; ch++) {
            double sum = 0;
            double best = Double.NEGATIVE_INFINITY;
            for (int dr = 0; dr < 2; dr++) {
              for (int dc = 0; dc < 2; dc++) {
                float e = v[((2 * r + dr) * g + 2 * c + dc) * d + ch];
                sum += e;
                best = Math.max(best, e);
              }
            }
            int j = (r * 3 + c) * d + ch;
            assertEquals(gelu((float) (sum / 4)), a[j], 1e-5, "avg cell " + r + "," + c);
            assertEquals(gelu((float) best), mx[j], 1e-5, "max cell " + r + "," + c);
          }
        }
      }
      float[] n = none.forward(x).toFloatArray();
      for (int i = 0; i < v.length; i++) {
        assertEquals(gelu(v[i]), n[i], 1e-5);
      }
    }
  }

  @Test
  void aStrideThatDoesNotDivideTheGridIsRefused() {
    try (NDManager m = NDManager.newBaseManager()) {
      assertThrows(
          IllegalArgumentException.class,
          () -> new PooledConnector(PooledConnector.Pool.AVG, 9, 2, identityLike(m, 2), Map.of()));
      assertThrows(
          IllegalArgumentException.class,
          () -> new PooledConnector(PooledConnector.Pool.NONE, 9, 3, identityLike(m, 2), Map.of()));
    }
  }

  @Test
  void freshWeightsAreDeterministicPerSeed() {
    try (NDManager m = NDManager.newBaseManager()) {
      PooledConnector a = PooledConnector.fresh(m, PooledConnector.Pool.AVG, 6, 2, 4, 8, 5);
      PooledConnector b = PooledConnector.fresh(m, PooledConnector.Pool.AVG, 6, 2, 4, 8, 5);
      PooledConnector c = PooledConnector.fresh(m, PooledConnector.Pool.AVG, 6, 2, 4, 8, 6);
      String w1 = "multi_modal_projector.linear_1.weight";
      assertEquals(new Shape(8, 4), a.parameters().get(w1).getShape());
      assertArrayEquals(
          a.parameters().get(w1).toFloatArray(), b.parameters().get(w1).toFloatArray());
      assertEquals(
          false,
          java.util.Arrays.equals(
              a.parameters().get(w1).toFloatArray(), c.parameters().get(w1).toFloatArray()));
    }
  }
}
