package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.decostream.nn.rgae.AttentionRecorder;
import io.decostream.nn.rgae.GaeRules;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.projector.QFormer;
import io.decostream.projector.QFormerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Query-to-Patch of a Q-Former (spec §7.4, §7.6; DeCo Fig. 3): which patches each learned query
 * draws on. The Q-Former runs with its attention taps ({@link QFormer#forward(NDArray,
 * UnaryOperator, UnaryOperator)}), one backward pass from a scalar target gives ∂y/∂A of every
 * self- and cross-attention, and {@link GaeRules#crossAttentionQueryToPatch} folds the
 * head-averaged {@code relu(∂y/∂A ⊙ A)} layer by layer from {@code R_qq = I}, {@code R_qi = 0}. The
 * ViT part is not propagated, so {@code R_ii = I} with the §7.4 PROPOSAL ({@code R̂_ii = I}).
 */
final class QFormerRelevance {

  private QFormerRelevance() {}

  /**
   * The [Q, P] map of one frame.
   *
   * @param features one frame's patch features [1, P, Dv]
   * @param target the Q-Former's output [1, Q, H] → the scalar y to explain (in R-GAE the answer
   *     token's logit through the rest of the model; see {@link #outputEnergy})
   */
  static QueryToPatch queryToPatch(
      QFormer qformer, NDArray features, UnaryOperator<NDArray> target) {
    Objects.requireNonNull(features, "features");
    if (features.getShape().dimension() != 3 || features.getShape().get(0) != 1) {
      throw new IllegalArgumentException(
          "Query-to-Patch explains one frame [1, P, Dv], got " + features.getShape());
    }
    QFormerConfig c = qformer.config();
    int q = c.queries();
    int p = (int) features.getShape().get(1);
    try (NDManager m = features.getManager().newSubManager();
        AttentionRecorder self = new AttentionRecorder(m);
        AttentionRecorder cross = new AttentionRecorder(m)) {
      try (GradientCollector gc = m.getEngine().newGradientCollector()) {
        NDArray y = target.apply(qformer.forward(features, self, cross));
        y.attach(m);
        gc.backward(y);
      }
      return QueryToPatch.of(q, p, fold(c, self, cross, m, 0, p));
    }
  }

  /**
   * §7.4 over the recorded layers for batch item {@code item} (a frame): per layer the
   * self-attention map, and the cross-attention map where the layer has one (null otherwise), in
   * the rule's order; the [Q, P] result, row-major.
   */
  static float[] fold(
      QFormerConfig c,
      AttentionRecorder self,
      AttentionRecorder cross,
      NDManager m,
      int item,
      int p) {
    int q = c.queries();
    List<float[]> abarQq = new ArrayList<>();
    List<float[]> abarQi = new ArrayList<>();
    int crossLayer = 0;
    for (int l = 0; l < c.layers(); l++) {
      abarQq.add(itemOf(self.headAveragedPerItem(l, m), item));
      abarQi.add(
          c.hasCrossAttention(l) ? itemOf(cross.headAveragedPerItem(crossLayer++, m), item) : null);
    }
    return GaeRules.crossAttentionQueryToPatch(abarQq, abarQi, GaeRules.identity(p), q, p, true);
  }

  /** Item {@code i} of a head-averaged [B, Tq, Tk] map, row-major [Tq, Tk]. */
  private static float[] itemOf(NDArray perItem, int i) {
    long n = perItem.getShape().get(1) * perItem.getShape().get(2);
    float[] all = perItem.toFloatArray();
    return java.util.Arrays.copyOfRange(all, (int) (i * n), (int) ((i + 1) * n));
  }

  /**
   * A target for the connector alone (no LLM): half the squared norm of the connector's output rows
   * (after its MLP: behind the Q-Former's final LayerNorm alone the norm is constant), so every
   * query row is explained by what it carries. PROPOSAL of this analysis (Fig. 3 style maps of the
   * learned queries); Text-to-Patch explains the answer's logit instead.
   */
  static NDArray outputEnergy(NDArray out) {
    return out.square().sum().mul(0.5f);
  }
}
