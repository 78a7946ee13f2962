package io.decostream.projector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Bilinear interpolation against torch (make_bilinear_goldens.py), spec §3.4 / §3.5 (abs ≤ 1e-6).
 */
class Bilinear2dTest {

  private static final int DIM = 6;
  private static Map<String, Golden.Tensor> golden;

  @BeforeAll
  static void load() {
    golden = Golden.load("bilinear_goldens.safetensors");
  }

  @ParameterizedTest(name = "{0}x{1}->{2}x{3}")
  @CsvSource({"27,27,14,14", "24,24,12,12", "24,24,13,13", "5,5,3,3", "5,7,3,4", "3,3,5,5"})
  void interpolationMatchesTorch(int ih, int iw, int oh, int ow) {
    float[] x = golden.get("x_" + ih + "x" + iw).f32();
    float[] expected = golden.get("bil_" + ih + "x" + iw + "_" + oh + "x" + ow).f32();
    float[] actual = Bilinear2d.interpolate(x, ih, iw, DIM, oh, ow);
    assertEquals(oh * ow * DIM, actual.length);
    double err = Golden.absErr(actual, expected);
    assertTrue(err <= 1e-6, ih + "x" + iw + "->" + oh + "x" + ow + " max abs err " + err);

    // the per-axis indices and lambdas equal torch's float32 derivation
    for (int[] io : new int[][] {{ih, oh}, {iw, ow}}) {
      Bilinear2d.Axis a = Bilinear2d.axis(io[0], io[1]);
      int[] idx = golden.get("idx_" + io[0] + "_" + io[1]).i32();
      float[] lam = golden.get("lam_" + io[0] + "_" + io[1]).f32();
      for (int d = 0; d < io[1]; d++) {
        assertEquals(idx[2 * d], a.i0()[d], "i0[" + d + "]");
        assertEquals(idx[2 * d + 1], a.i1()[d], "i1[" + d + "]");
        assertEquals(lam[2 * d], a.lambda0()[d], 0f, "lambda0[" + d + "]");
        assertEquals(lam[2 * d + 1], a.lambda1()[d], 0f, "lambda1[" + d + "]");
      }
    }

    // weight matrix: rows sum to 1 and M x equals the interpolation
    float[] m = Bilinear2d.weightMatrix(ih, iw, oh, ow);
    int p = ih * iw;
    int q = oh * ow;
    assertEquals(q * p, m.length);
    float[] mx = new float[q * DIM];
    for (int j = 0; j < q; j++) {
      double sum = 0;
      int nonZero = 0;
      for (int i = 0; i < p; i++) {
        float w = m[j * p + i];
        assertTrue(w >= 0f, "negative weight");
        sum += w;
        if (w != 0f) {
          nonZero++;
        }
        for (int d = 0; d < DIM; d++) {
          mx[j * DIM + d] += w * x[i * DIM + d];
        }
      }
      assertEquals(1.0, sum, 1e-6, "row " + j + " sums to 1");
      assertTrue(nonZero >= 1 && nonZero <= 4, "row " + j + " has " + nonZero + " neighbours");
    }
    double merr = Golden.absErr(mx, expected);
    assertTrue(merr <= 1e-6, "M x vs torch: max abs err " + merr);
  }

  @Test
  void spec27To14Triples() {
    // §3.5's (i0, i1, lambda1) table for OneVision's 27 -> 14
    Bilinear2d.Axis a = Bilinear2d.axis(27, 14);
    assertArrayEquals(new int[] {0, 2, 4, 6, 8, 10, 12, 13, 15, 17, 19, 21, 23, 25}, a.i0());
    assertArrayEquals(new int[] {1, 3, 5, 7, 9, 11, 13, 14, 16, 18, 20, 22, 24, 26}, a.i1());
    float[] l1 = {
      .4643f, .3929f, .3214f, .25f, .1786f, .1071f, .0357f, .9643f, .8929f, .8214f, .75f, .6786f,
      .6071f, .5357f
    };
    for (int d = 0; d < 14; d++) {
      assertEquals(l1[d], a.lambda1()[d], 5e-5, "lambda1[" + d + "]");
      assertEquals(1f, a.lambda0()[d] + a.lambda1()[d], 0f);
    }
    assertEquals(14, Bilinear2d.oneVisionSize(27));
    assertEquals(12, Bilinear2d.oneVisionSize(24));
    assertEquals(1, Bilinear2d.oneVisionSize(1));
  }

  @Test
  void sameSizeIsTheIdentity() {
    float[] x = golden.get("x_5x5").f32();
    assertArrayEquals(x, Bilinear2d.interpolate(x, 5, 5, DIM, 5, 5));
    float[] m = Bilinear2d.weightMatrix(3, 4, 3, 4);
    for (int j = 0; j < 12; j++) {
      for (int i = 0; i < 12; i++) {
        assertEquals(i == j ? 1f : 0f, m[j * 12 + i]);
      }
    }
  }

  @Test
  void ndArrayVersionMatchesAndPassesGradients() {
    float[] x = golden.get("x_27x27").f32();
    float[] expected = golden.get("bil_27x27_14x14").f32();
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray xs = manager.create(x, new Shape(27 * 27, DIM));
      NDArray y = Bilinear2d.interpolate(xs, 27, 27, 14, 14);
      assertEquals(new Shape(196, DIM), y.getShape());
      assertTrue(Golden.absErr(y.toFloatArray(), expected) <= 1e-6);

      // batched [N, P, D]: both frames pooled independently
      NDArray batch =
          xs.expandDims(0).repeat(0, 2).mul(manager.create(new float[] {1f, -2f}).reshape(2, 1, 1));
      NDArray yb = Bilinear2d.oneVisionPool(batch, 27);
      assertEquals(new Shape(2, 196, DIM), yb.getShape());
      float[] flat = yb.toFloatArray();
      for (int i = 0; i < expected.length; i++) {
        assertEquals(expected[i], flat[i], 1e-6);
        assertEquals(-2 * expected[i], flat[expected.length + i], 3e-6);
      }

      // d(sum_d y[j, d] * g[d]) / dx = M^T g: gradient flows through the matmul
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray leaf = manager.create(x, new Shape(27 * 27, DIM));
        leaf.setRequiresGradient(true);
        NDArray out = Bilinear2d.interpolate(leaf, 27, 27, 14, 14);
        gc.backward(out.get("0, :").sum());
        float[] grad = leaf.getGradient().toFloatArray();
        float[] m = Bilinear2d.weightMatrix(27, 27, 14, 14);
        for (int i = 0; i < 27 * 27; i++) {
          for (int d = 0; d < DIM; d++) {
            assertEquals(m[i], grad[i * DIM + d], 1e-7, "grad of patch " + i);
          }
        }
      }
    }
  }

  @Test
  void badInputIsRejected() {
    assertThrows(
        IllegalArgumentException.class, () -> Bilinear2d.interpolate(new float[10], 2, 2, 3, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> Bilinear2d.axis(0, 3));
    assertThrows(IllegalArgumentException.class, () -> Bilinear2d.oneVisionSize(0));
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray x = manager.zeros(new Shape(10, 3));
      assertThrows(IllegalArgumentException.class, () -> Bilinear2d.interpolate(x, 3, 3, 2, 2));
    }
  }
}
