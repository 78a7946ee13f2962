package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.decostream.nn.rgae.AttentionRecorder;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.projector.QFormer;
import io.decostream.projector.QFormerConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The Q-Former's attention taps and its Query-to-Patch by the §7.4 rule. */
class QFormerRelevanceTest {

  static final int DV = 8;
  static final int Q = 3;
  static final int P = 5;
  static final int HEADS = 2;

  /** Larger-than-init weights so the attention is far from uniform. */
  static QFormer tiny(NDManager m, int layers) {
    QFormerConfig c = new QFormerConfig(DV, DV, HEADS, 16, layers, Q, 1);
    Map<String, NDArray> w = QFormer.initWeights(m, c, 5);
    w.replaceAll((k, v) -> k.endsWith(".weight") && v.getShape().dimension() == 2 ? v.mul(20) : v);
    w.put("query_tokens", w.get("query_tokens").mul(50));
    return new QFormer(c, w);
  }

  static NDArray features(NDManager m) {
    Random r = new Random(3);
    float[] f = new float[P * DV];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) r.nextGaussian();
    }
    return m.create(f, new Shape(1, P, DV));
  }

  @Test
  void tapsRecordEveryAttentionAndLeaveTheOutputUnchanged() {
    try (NDManager m = NDManager.newBaseManager()) {
      QFormer qf = tiny(m, 2);
      NDArray v = features(m);
      float[] plain = qf.forward(v).toFloatArray();
      try (AttentionRecorder self = new AttentionRecorder(m);
          AttentionRecorder cross = new AttentionRecorder(m)) {
        float[] tapped = qf.forward(v, self, cross).toFloatArray();
        assertArrayEquals(plain, tapped, 1e-6f);
        assertEquals(2, self.layers());
        assertEquals(2, cross.layers());
        assertEquals(new Shape(1, HEADS, Q, Q), self.probabilities(0).getShape());
        assertEquals(new Shape(1, HEADS, Q, P), cross.probabilities(1).getShape());
      }
    }
  }

  /**
   * One layer (self-attention then cross-attention): §7.4 gives R_qq = I + Ā_qq, R_qi = 0 after the
   * self rule, then R_qi = R̂_qqᵀ Ā_qi with R̂_qq = rownorm(Ā_qq) + I and R̂_ii = I (PROPOSAL).
   * Computed here by hand from the recorded A and ∂y/∂A of the same target.
   */
  @Test
  void oneLayerMapIsTheHandComputedRule() {
    try (NDManager m = NDManager.newBaseManager()) {
      QFormer qf = tiny(m, 1);
      NDArray v = features(m);
      float[] got = QFormerRelevance.queryToPatch(qf, v, QFormerRelevanceTest::probe).matrix();
      double[][] aqq;
      double[][] aqi;
      try (AttentionRecorder self = new AttentionRecorder(m);
          AttentionRecorder cross = new AttentionRecorder(m)) {
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
          gc.backward(probe(qf.forward(v, self, cross)));
        }
        aqq = headMean(self.probabilities(0), self.gradient(0), Q, Q);
        aqi = headMean(cross.probabilities(0), cross.gradient(0), Q, P);
      }
      double[][] rhat = new double[Q][Q];
      for (int i = 0; i < Q; i++) {
        double sum = 0;
        for (int j = 0; j < Q; j++) {
          sum += aqq[i][j];
        }
        for (int j = 0; j < Q; j++) {
          rhat[i][j] = aqq[i][j] / sum + (i == j ? 1 : 0);
        }
      }
      double max = 0;
      for (int i = 0; i < Q; i++) {
        for (int p = 0; p < P; p++) {
          double want = 0;
          for (int k = 0; k < Q; k++) {
            want += rhat[k][i] * aqi[k][p]; // transpose of R̂_qq
          }
          assertEquals(
              want, got[i * P + p], 1e-5 * (1 + Math.abs(want)), "R_qi[" + i + "," + p + "]");
          max = Math.max(max, want);
        }
      }
      assertTrue(max > 1e-6, "the map is not all zero");
    }
  }

  /**
   * End to end against plain PyTorch (golden/qformer_rgae/make_qformer_rgae_golden.py: the
   * reference Q-Former forward with retain_grad on every attention, autograd, the §7.4 rule): 3
   * layers with cross-attention in layers 0 and 2 only, 4 queries, 9 patches, a fixed linear
   * read-out as y. Checks the taps' A and ∂y/∂A (as their head averages) and the folded map.
   */
  @Test
  void matchesTorchReferenceWithSparseCrossAttention() throws Exception {
    QFormerConfig c = new QFormerConfig(12, 16, 2, 32, 3, 4, 2);
    Path file =
        Path.of(
            QFormerRelevanceTest.class
                .getResource("/golden/qformer_rgae/qformer_rgae.safetensors")
                .toURI());
    try (NDManager m = NDManager.newBaseManager();
        SafeTensors ref = SafeTensors.open(file)) {
      Map<String, NDArray> w = new HashMap<>();
      for (String name : QFormer.weightShapes(c).keySet()) {
        w.put(name, ref.toNDArray(m, name));
      }
      QFormer qf = new QFormer(c, w);
      NDArray v = ref.toNDArray(m, "input");
      NDArray probe = ref.toNDArray(m, "probe");
      UnaryOperator<NDArray> y = out -> out.mul(probe).sum();
      float[] got = QFormerRelevance.queryToPatch(qf, v, y).matrix();
      float[] want = ref.readFloats("query_to_patch");
      assertClose(want, got, "Query-to-Patch");
      try (AttentionRecorder self = new AttentionRecorder(m);
          AttentionRecorder cross = new AttentionRecorder(m)) {
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
          gc.backward(y.apply(qf.forward(v, self, cross)));
        }
        float[] qq = ref.readFloats("abar_qq");
        float[] qi = ref.readFloats("abar_qi");
        for (int l = 0; l < 3; l++) {
          assertClose(
              Arrays.copyOfRange(qq, l * 16, (l + 1) * 16),
              self.headAveragedPerItem(l, m).toFloatArray(),
              "self-attention relevance of layer " + l);
        }
        for (int l = 0; l < 2; l++) {
          assertClose(
              Arrays.copyOfRange(qi, l * 36, (l + 1) * 36),
              cross.headAveragedPerItem(l, m).toFloatArray(),
              "cross-attention relevance " + l);
        }
      }
    }
  }

  private static void assertClose(float[] want, float[] got, String what) {
    assertEquals(want.length, got.length, what);
    double max = 0;
    for (int i = 0; i < want.length; i++) {
      assertEquals(want[i], got[i], 1e-5 * (1 + Math.abs(want[i])), what + "[" + i + "]");
      max = Math.max(max, want[i]);
    }
    assertTrue(max > 1e-2, what + " is not all (near) zero");
  }

  @Test
  void twoLayerMapIsFiniteAndNonNegative() {
    try (NDManager m = NDManager.newBaseManager()) {
      QueryToPatch map =
          QFormerRelevance.queryToPatch(tiny(m, 2), features(m), QFormerRelevanceTest::probe);
      assertEquals(Q, map.queries());
      assertEquals(P, map.patches());
      double total = 0;
      for (float x : map.matrix()) {
        assertTrue(Float.isFinite(x) && x >= 0, "entry " + x);
        total += x;
      }
      assertTrue(total > 0);
    }
  }

  /**
   * A fixed linear read-out of the output [1, Q, H]: the output's plain energy would be constant
   * behind the final LayerNorm (gain 1, bias 0), with zero gradient.
   */
  static NDArray probe(NDArray out) {
    int n = (int) out.getShape().size();
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) Math.sin(1.7 * i + 0.3);
    }
    return out.mul(out.getManager().create(w, out.getShape())).sum();
  }

  /** mean over heads of relu(dA ⊙ A), [B=1, H, rows, cols] → [rows][cols]. */
  static double[][] headMean(NDArray a, NDArray g, int rows, int cols) {
    float[] av = a.toFloatArray();
    float[] gv = g.toFloatArray();
    double[][] out = new double[rows][cols];
    for (int h = 0; h < HEADS; h++) {
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
          int k = (h * rows + i) * cols + j;
          out[i][j] += Math.max(0, (double) av[k] * gv[k]) / HEADS;
        }
      }
    }
    return out;
  }
}
