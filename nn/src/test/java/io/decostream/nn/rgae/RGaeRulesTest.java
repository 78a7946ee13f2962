package io.decostream.nn.rgae;

import static io.decostream.nn.rgae.RGaeFixture.err;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.projector.PoolWindows;
import io.decostream.projector.PoolingMode;
import io.decostream.projector.TokenCompressor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Pure rules of R-GAE: Query-to-Patch matrices (§7.6, (b): exact windows and autograd Jacobians of
 * torch's pooling), the GAE normalisation / cross-attention rule (§7.3, §7.4, incl. the NaN path,
 * vs torch), Text-to-Patch splitting, step averaging and per-word grouping (§7.5).
 */
public class RGaeRulesTest {

  static SafeTensors ref;

  @BeforeAll
  static void open() throws Exception {
    ref = SafeTensors.open(RGaeFixture.resource("/golden/rgae/rgae.safetensors"));
  }

  @AfterAll
  static void close() {
    ref.close();
  }

  /**
   * Dense [Q, P] Jacobian d pooled / d input from the reference's COO entries (all others exactly
   * 0).
   */
  static float[] jacobian(String name, int q, int p) {
    long[] shape = ref.readLongs("jac/" + name + "/shape");
    assertArrayEquals(new long[] {q, p}, shape);
    long[] idx = ref.readLongs("jac/" + name + "/idx");
    float[] val = ref.readFloats("jac/" + name + "/val");
    float[] dense = new float[q * p];
    for (int i = 0; i < val.length; i++) {
      dense[(int) idx[2 * i] * p + (int) idx[2 * i + 1]] = val[i];
    }
    return dense;
  }

  static double maxAbs(float[] a, float[] b) {
    assertEquals(b.length, a.length);
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs((double) a[i] - b[i]));
    }
    return d;
  }

  /**
   * (b) adaptive average pooling: rows are exactly 1/|window| over the §3.5 windows, and equal
   * torch's Jacobian.
   */
  @ParameterizedTest
  @CsvSource({"24,12", "24,20", "27,12"})
  void adaptiveAverageRowsAreTheWindowsAndTheJacobian(int in, int out) {
    QueryToPatch m = QueryToPatch.adaptiveAvg(in, in, out, out);
    assertEquals(out * out, m.queries());
    assertEquals(in * in, m.patches());
    PoolWindows w = PoolWindows.of(in, out);
    for (int oy = 0; oy < out; oy++) {
      for (int ox = 0; ox < out; ox++) {
        int j = oy * out + ox;
        float expected = 1f / (w.size(oy) * w.size(ox));
        for (int y = 0; y < in; y++) {
          for (int x = 0; x < in; x++) {
            boolean inside = y >= w.start(oy) && y < w.end(oy) && x >= w.start(ox) && x < w.end(ox);
            assertEquals(
                inside ? expected : 0f, m.get(j, y * in + x), "M[" + j + "," + (y * in + x) + "]");
          }
        }
      }
    }
    double d = maxAbs(m.matrix(), jacobian("avg_" + in + "_" + out, out * out, in * in));
    assertTrue(d <= 1e-6, "max |M - Jacobian| = " + d);
  }

  @Test
  void bilinearEqualsTheJacobian() {
    QueryToPatch m = QueryToPatch.bilinear(27, 27, 14, 14);
    double d = maxAbs(m.matrix(), jacobian("bilinear_27_14", 196, 729));
    assertTrue(d <= 1e-6, "max |M - Jacobian| = " + d);
    for (int j = 0; j < m.queries(); j++) {
      double s = 0;
      for (int p = 0; p < m.patches(); p++) {
        s += m.get(j, p);
      }
      assertEquals(1.0, s, 1e-6, "row " + j);
    }
  }

  /**
   * Max pooling (§7.6 PROPOSAL): the argmax patch when all channels agree, channel fractions
   * otherwise.
   */
  @Test
  void maxPoolingIsTheArgmaxFraction() {
    int dim = 4;
    float[] f = new float[16 * dim]; // 4x4 grid, window 0 = patches {0,1,4,5}
    for (int d = 0; d < dim; d++) {
      f[5 * dim + d] = 1f; // all channels peak at patch 5 in window 0
    }
    f[2 * dim] = 3f; // window 1 = {2,3,6,7}: channel 0 at patch 2, channels 1..3 at patch 7
    for (int d = 1; d < dim; d++) {
      f[7 * dim + d] = 2f;
    }
    QueryToPatch m = QueryToPatch.adaptiveMax(f, 4, 4, dim, 2, 2);
    assertEquals(1f, m.get(0, 5));
    assertEquals(0f, m.get(0, 0));
    assertEquals(0.25f, m.get(1, 2));
    assertEquals(0.75f, m.get(1, 7));
    // the compressor route gives the same matrices
    assertArrayEquals(
        m.matrix(),
        QueryToPatch.of(new TokenCompressor(PoolingMode.MAX, 2, 2), f, 4, 4, dim).matrix());
    assertArrayEquals(
        QueryToPatch.identity(16).matrix(),
        QueryToPatch.of(TokenCompressor.none(), null, 4, 4, dim).matrix());
  }

  @Test
  void textToPatchSplitsFramesAndChains() {
    QueryToPatch avg = QueryToPatch.adaptiveAvg(4, 4, 2, 2);
    float[] ttq = {0, 4, 0, 0, 8, 0, 0, 0}; // frame 0 query 1, frame 1 query 0
    float[][] ttp = TextToPatch.perFrame(ttq, 2, avg);
    assertEquals(2, ttp.length);
    for (int p : new int[] {2, 3, 6, 7}) {
      assertEquals(1f, ttp[0][p]);
    }
    for (int p : new int[] {0, 1, 4, 5}) {
      assertEquals(2f, ttp[1][p]);
    }
    assertEquals(4f, sum(ttp[0]), 1e-6);
    assertEquals(8f, sum(ttp[1]), 1e-6);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> TextToPatch.perFrame(new float[7], 2, avg));
    assertTrue(e.getMessage().contains("7 visual tokens"), e.getMessage());
    // chaining with the identity changes nothing; with a permutation it permutes the patches (§7.7
    // TtQ·M·V)
    assertArrayEquals(avg.matrix(), avg.andThen(QueryToPatch.identity(16)).matrix());
    float[] perm = new float[16 * 16];
    for (int p = 0; p < 16; p++) {
      perm[p * 16 + (15 - p)] = 1f;
    }
    float[] chained = avg.andThen(QueryToPatch.of(16, 16, perm)).apply(new float[] {1, 0, 0, 0});
    assertEquals(0.25f, chained[15]);
    assertEquals(0f, chained[0]);
  }

  /** §7.2 / §7.3 / §7.4 against the torch re-implementation, incl. the NaN path (§8: 1e-6). */
  @Test
  void crossAttentionRuleMatchesTorch() {
    int q = 4;
    int p = 6;
    float[] aqq = ref.readFloats("cross/abar_qq");
    float[] aqi = ref.readFloats("cross/abar_qi");
    float[] aii = ref.readFloats("cross/abar_ii");
    List<float[]> selfMaps = new ArrayList<>();
    for (int l = 0; l < 3; l++) {
      selfMaps.add(Arrays.copyOfRange(aqq, l * q * q, (l + 1) * q * q));
    }
    List<float[]> crossMaps =
        Arrays.asList(
            Arrays.copyOfRange(aqi, 0, q * p), null, Arrays.copyOfRange(aqi, q * p, 2 * q * p));
    // R_ii propagated through two image self-attention maps (§7.2 rule)
    float[] rii = GaeRules.identity(p);
    for (int l = 0; l < 2; l++) {
      rii =
          GaeRules.selfAttentionUpdate(
              rii, p, p, Arrays.copyOfRange(aii, l * p * p, (l + 1) * p * p));
    }
    assertTrue(err(rii, ref.readFloats("cross/r_ii")) <= 1e-6);
    float[] rqq1 = GaeRules.selfAttentionUpdate(GaeRules.identity(q), q, q, selfMaps.get(0));
    assertTrue(err(GaeRules.normalise(rqq1, q), ref.readFloats("cross/r_qq_hat")) <= 1e-6);

    float[] prop = GaeRules.crossAttentionQueryToPatch(selfMaps, crossMaps, rii, q, p, true);
    assertTrue(
        err(prop, ref.readFloats("cross/prop")) <= 1e-6,
        "prop " + err(prop, ref.readFloats("cross/prop")));
    float[] ident =
        GaeRules.crossAttentionQueryToPatch(selfMaps, crossMaps, GaeRules.identity(p), q, p, true);
    assertTrue(err(ident, ref.readFloats("cross/ident")) <= 1e-6);
    assertTrue(sum(ident) > 0, "the identity proposal keeps the cross-attention relevance");
    // faithful DETR: normalising R_ii = I gives NaN, the guard zeroes every addition
    assertTrue(Float.isNaN(GaeRules.normalise(GaeRules.identity(p), p)[0]));
    float[] nan =
        GaeRules.crossAttentionQueryToPatch(selfMaps, crossMaps, GaeRules.identity(p), q, p, false);
    assertArrayEquals(ref.readFloats("cross/nan"), nan);
    float[] riiFinal = rii;
    e(
        () ->
            GaeRules.crossAttentionQueryToPatch(
                selfMaps, List.of(new float[q * p]), riiFinal, q, p, true),
        "null for layers");
  }

  @Test
  void stepAveragesAndWords() {
    Explanation ex =
        new Explanation(
            List.of(
                new Explanation.Step(10, 1f, 10, new float[] {1, 2, 3}),
                new Explanation.Step(11, 1f, 11, new float[] {3, 2, 1}),
                new Explanation.Step(12, 1f, 12, new float[] {2, 2, 8})));
    assertArrayEquals(new float[] {2, 2, 4}, ex.mean());
    // min-max per step first: {0,.5,1}, {1,.5,0}, {0,0,1}
    float[] mm = ex.mean(Explanation.StepNormalisation.MIN_MAX);
    assertArrayEquals(new float[] {1f / 3, 1f / 3, 2f / 3}, mm, 1e-6f);
    int[][] words =
        WordGroups.of(
            List.of("\u2581The", "\u2581ca", "t", "s", "\u2581ran"), WordGroups.SENTENCEPIECE);
    assertArrayEquals(new int[][] {{0}, {1, 2, 3}, {4}}, words);
    assertArrayEquals(
        new int[][] {{0, 1}, {2}},
        WordGroups.of(List.of("Hi", "!", "\u0120you"), WordGroups.BYTE_LEVEL_BPE));
    assertArrayEquals(
        new int[][] {{0}, {1}}, WordGroups.of(List.of("a", "b"), WordGroups.EVERY_TOKEN));
    assertEquals(0, WordGroups.of(List.of(), WordGroups.SENTENCEPIECE).length);
    float[][] perWord = ex.perWord(new int[][] {{0, 1}, {2}}, Explanation.StepNormalisation.NONE);
    assertArrayEquals(new float[] {2, 2, 2}, perWord[0]);
    assertArrayEquals(new float[] {2, 2, 8}, perWord[1]);
    e(() -> ex.perWord(new int[][] {{3}}, Explanation.StepNormalisation.NONE), "step 3");
    e(
        () ->
            new Explanation(
                List.of(
                    new Explanation.Step(1, 0, 1, new float[2]),
                    new Explanation.Step(1, 0, 1, new float[3]))),
        "visual tokens");
  }

  static void e(org.junit.jupiter.api.function.Executable x, String fragment) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, x);
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
  }

  static float sum(float[] a) {
    float s = 0;
    for (float v : a) {
      s += v;
    }
    return s;
  }
}
