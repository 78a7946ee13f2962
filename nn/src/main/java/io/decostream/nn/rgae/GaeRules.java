package io.decostream.nn.rgae;

import java.util.List;
import java.util.Objects;

/**
 * The GAE relevance-update rules (Chefer et al. ICCV 2021; spec §7.2–§7.4) as pure functions on
 * row-major {@code float[]} matrices (small: Q-Former queries × patches; the LLM path of {@link
 * RGae} uses NDArrays). Accumulation is in double, results are rounded to float.
 */
public final class GaeRules {

  private GaeRules() {}

  /**
   * Self-attention rule (§7.2, [GAE-LX] apply_self_attention_rules): {@code R + Ā · R} with {@code
   * Ā} [n, n] and {@code R} [n, cols] (cols = n for R_qq, the other modality's size for a cross
   * block R_sq, rule 7).
   */
  public static float[] selfAttentionUpdate(float[] r, int n, int cols, float[] abar) {
    check(r, n, cols, "R");
    check(abar, n, n, "Ā");
    float[] prod = matMul(abar, n, n, r, cols);
    float[] out = new float[r.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = r[i] + prod[i];
    }
    return out;
  }

  /**
   * Normalisation (§7.3, eqs. 8–9, [GAE-LX]/[GAE-DETR] handle_residual): {@code R̂ = R − I}, each
   * row divided by its sum, then {@code + I}. Faithful to the reference code: a row of {@code R −
   * I} that sums to 0 (e.g. {@code R = I}) becomes NaN (0/0), except its diagonal entry which is
   * NaN + 1 = NaN as well.
   */
  public static float[] normalise(float[] r, int n) {
    check(r, n, n, "R");
    float[] out = new float[r.length];
    for (int i = 0; i < n; i++) {
      double sum = 0;
      for (int j = 0; j < n; j++) {
        sum += r[i * n + j] - (i == j ? 1.0 : 0.0);
      }
      for (int j = 0; j < n; j++) {
        double v = (r[i * n + j] - (i == j ? 1.0 : 0.0)) / sum;
        out[i * n + j] = (float) (v + (i == j ? 1.0 : 0.0));
      }
    }
    return out;
  }

  /**
   * Cross-attention rule (§7.4, [GAE-DETR]): {@code R_qi + R̂_qqᵀ · (Ā_qi · R̂_ii)} with R̂ from
   * {@link #normalise}; NaN entries of the addition are set to 0 (DETR's guard).
   *
   * @param rqq [q, q] current query self-relevance; @param rqi [q, p]; @param abarQi [q, p] this
   *     layer's head-averaged cross-attention relevance; @param rii [p, p] image self-relevance
   * @param identityProposal PROPOSAL of §7.4: when {@code rii} is exactly the identity (no ViT
   *     propagation), use {@code R̂_ii = I} instead of the NaN matrix the normalisation gives
   *     (which the guard would zero entirely)
   */
  public static float[] crossAttentionUpdate(
      float[] rqq,
      float[] rqi,
      float[] abarQi,
      float[] rii,
      int q,
      int p,
      boolean identityProposal) {
    check(rqq, q, q, "R_qq");
    check(rqi, q, p, "R_qi");
    check(abarQi, q, p, "Ā_qi");
    check(rii, p, p, "R_ii");
    float[] rqqHat = normalise(rqq, q);
    float[] riiHat = identityProposal && isIdentity(rii, p) ? identity(p) : normalise(rii, p);
    float[] inner = matMul(abarQi, q, p, riiHat, p); // Ā_qi · R̂_ii, [q, p]
    float[] add = matMul(transpose(rqqHat, q, q), q, q, inner, p); // R̂_qqᵀ · (...)
    float[] out = new float[rqi.length];
    for (int i = 0; i < out.length; i++) {
      float a = add[i];
      out[i] = rqi[i] + (Float.isNaN(a) ? 0f : a);
    }
    return out;
  }

  /**
   * Query-to-Patch of a query/cross-attention stack such as the Q-Former (§7.4, §7.6): {@code R_qq
   * = I_q}, {@code R_qi = 0}; per layer, in order, the query self-attention rule on {@code R_qq}
   * and {@code R_qi}, then, when the layer has cross-attention ({@code abarQi.get(l) != null}), the
   * cross rule. Returns the final {@code R_qi} [q, p].
   *
   * @param abarQq per layer the head-averaged query self-attention relevance [q, q]
   * @param abarQi per layer the head-averaged cross-attention relevance [q, p], or null for a layer
   *     without it
   * @param rii the image self-relevance [p, p], already propagated through the image encoder
   *     (identity if not)
   */
  public static float[] crossAttentionQueryToPatch(
      List<float[]> abarQq,
      List<float[]> abarQi,
      float[] rii,
      int q,
      int p,
      boolean identityProposal) {
    Objects.requireNonNull(abarQq, "abarQq");
    Objects.requireNonNull(abarQi, "abarQi");
    if (abarQq.size() != abarQi.size()) {
      throw new IllegalArgumentException(
          abarQq.size()
              + " self-attention maps but "
              + abarQi.size()
              + " cross-attention entries (use null for layers without cross-attention)");
    }
    float[] rqq = identity(q);
    float[] rqi = new float[q * p];
    for (int l = 0; l < abarQq.size(); l++) {
      float[] a = Objects.requireNonNull(abarQq.get(l), "self-attention map of layer " + l);
      float[] nextQq = selfAttentionUpdate(rqq, q, q, a);
      rqi = selfAttentionUpdate(rqi, q, p, a);
      rqq = nextQq;
      if (abarQi.get(l) != null) {
        rqi = crossAttentionUpdate(rqq, rqi, abarQi.get(l), rii, q, p, identityProposal);
      }
    }
    return rqi;
  }

  /** {@code I_n}, row-major. */
  public static float[] identity(int n) {
    float[] m = new float[n * n];
    for (int i = 0; i < n; i++) {
      m[i * n + i] = 1f;
    }
    return m;
  }

  static boolean isIdentity(float[] m, int n) {
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        if (m[i * n + j] != (i == j ? 1f : 0f)) {
          return false;
        }
      }
    }
    return true;
  }

  /** [n, k] · [k, m] → [n, m], double accumulation. */
  static float[] matMul(float[] a, int n, int k, float[] b, int m) {
    float[] out = new float[n * m];
    double[] acc = new double[m];
    for (int i = 0; i < n; i++) {
      java.util.Arrays.fill(acc, 0);
      for (int x = 0; x < k; x++) {
        double av =
            a[i * k + x]; // no zero skipping: 0 * NaN must stay NaN as in torch (§7.4 NaN path)
        for (int j = 0; j < m; j++) {
          acc[j] += av * b[x * m + j];
        }
      }
      for (int j = 0; j < m; j++) {
        out[i * m + j] = (float) acc[j];
      }
    }
    return out;
  }

  static float[] transpose(float[] a, int n, int m) {
    float[] out = new float[a.length];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        out[j * n + i] = a[i * m + j];
      }
    }
    return out;
  }

  private static void check(float[] m, int rows, int cols, String name) {
    Objects.requireNonNull(m, name);
    if (rows < 1 || cols < 1 || (long) rows * cols != m.length) {
      throw new IllegalArgumentException(
          name + " has " + m.length + " values, expected [" + rows + ", " + cols + "]");
    }
  }
}
