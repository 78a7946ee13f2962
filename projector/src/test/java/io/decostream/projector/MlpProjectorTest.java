package io.decostream.projector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** LLaVA mlp2x_gelu against torch (spec §3.1, §8: rel ≤ 1e-5). */
class MlpProjectorTest {

  private static NDArray create(NDManager m, Golden.Tensor t) {
    return m.create(t.f32(), new Shape(t.shape()));
  }

  @Test
  void matchesTorchGolden() {
    Map<String, Golden.Tensor> g = Golden.load("mlp_golden.safetensors");
    float[] expected = g.get("y").f32();
    try (NDManager m = NDManager.newBaseManager();
        MlpProjector mlp =
            new MlpProjector(
                create(m, g.get("linear_1.weight")),
                create(m, g.get("linear_1.bias")),
                create(m, g.get("linear_2.weight")),
                create(m, g.get("linear_2.bias")))) {
      assertEquals(16, mlp.inputDim());
      assertEquals(48, mlp.hiddenDim());
      assertEquals(24, mlp.outputDim());
      NDArray y = mlp.forward(create(m, g.get("x")));
      assertEquals(new Shape(7, 24), y.getShape());
      double rel = Golden.relErr(y.toFloatArray(), expected);
      assertTrue(rel <= 1e-5, "rel err " + rel);

      // The fixture must be able to tell exact GELU from the tanh approximation (§0).
      float[] tanhY = tanhGeluReference(g);
      assertTrue(
          Golden.relErr(tanhY, expected) > 1e-4, "fixture does not separate erf from tanh GELU");

      // batched input keeps leading dims
      NDArray xb = create(m, g.get("x")).expandDims(0);
      NDArray yb = mlp.forward(xb);
      assertEquals(new Shape(1, 7, 24), yb.getShape());
      assertTrue(Golden.relErr(yb.toFloatArray(), expected) <= 1e-5);
    }
  }

  /** Same MLP in plain Java with the tanh GELU approximation. */
  private static float[] tanhGeluReference(Map<String, Golden.Tensor> g) {
    float[] x = g.get("x").f32();
    float[] w1 = g.get("linear_1.weight").f32();
    float[] b1 = g.get("linear_1.bias").f32();
    float[] w2 = g.get("linear_2.weight").f32();
    float[] b2 = g.get("linear_2.bias").f32();
    int t = 7, dv = 16, h = 48, dt = 24;
    float[] y = new float[t * dt];
    for (int i = 0; i < t; i++) {
      double[] a = new double[h];
      for (int k = 0; k < h; k++) {
        double s = b1[k];
        for (int d = 0; d < dv; d++) s += x[i * dv + d] * w1[k * dv + d];
        a[k] = 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s * s * s)));
      }
      for (int o = 0; o < dt; o++) {
        double s = b2[o];
        for (int k = 0; k < h; k++) s += a[k] * w2[o * h + k];
        y[i * dt + o] = (float) s;
      }
    }
    return y;
  }

  @Test
  void rejectsInconsistentShapes() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray w1 = m.zeros(new Shape(6, 4));
      NDArray b1 = m.zeros(new Shape(6));
      NDArray w2 = m.zeros(new Shape(3, 6));
      NDArray b2 = m.zeros(new Shape(3));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> new MlpProjector(w1, b1, m.zeros(new Shape(3, 5)), b2));
      assertTrue(e.getMessage().contains("linear_2.weight"), e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () -> new MlpProjector(w1, m.zeros(new Shape(5)), w2, b2));
      assertTrue(e.getMessage().contains("linear_1.bias"), e.getMessage());
      assertThrows(
          IllegalArgumentException.class,
          () -> new MlpProjector(w1, b1, w2, m.zeros(new Shape(4))));
      assertThrows(
          IllegalArgumentException.class,
          () -> new MlpProjector(m.zeros(new Shape(6)), b1, w2, b2));
      try (MlpProjector mlp = new MlpProjector(w1, b1, w2, b2)) {
        e =
            assertThrows(
                IllegalArgumentException.class, () -> mlp.forward(m.zeros(new Shape(2, 5))));
        assertTrue(e.getMessage().contains("Dv=4"), e.getMessage());
        assertEquals(new Shape(2, 3), mlp.forward(m.zeros(new Shape(2, 4))).getShape());
      }
    }
  }
}
