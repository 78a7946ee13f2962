package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.projector.CAbstractor;
import io.decostream.projector.CAbstractorConfig;
import io.decostream.projector.QFormer;
import io.decostream.projector.QFormerConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The compressive baselines of spec §3.6 as comparison variants, at the demo model's widths: a
 * 2-layer Q-Former (BLIP-2 style, cross-attention in every layer, hidden = Dv) followed by the same
 * {@code mlp2x_gelu} projector the pooled variants use, and a C-Abstractor (Honeybee, depth 3,
 * hidden = Dv) whose SiLU readout maps straight to the LLM width, as in Honeybee.
 */
final class BaselineConnectors {

  private BaselineConnectors() {}

  static void register(Consumer<ComparisonVariants.Variant> add) {
    add.accept(
        new ComparisonVariants.Variant(
            "qformer-144",
            "2-layer Q-Former, 9 learned queries, then the MLP",
            144,
            (m, c, seed) -> qformer(m, c, 9, seed)));
    add.accept(
        new ComparisonVariants.Variant(
            "qformer-64",
            "2-layer Q-Former, 4 learned queries, then the MLP",
            64,
            (m, c, seed) -> qformer(m, c, 4, seed)));
    add.accept(
        new ComparisonVariants.Variant(
            "cabstractor-144",
            "C-Abstractor (depth 3, ResNet blocks around AdaptiveAvgPool to 3x3, SiLU readout)",
            144,
            BaselineConnectors::cabstractor));
  }

  private static int heads(int width) {
    return width >= 64 && width % 32 == 0 ? width / 32 : 1;
  }

  static Connector qformer(NDManager m, LlavaNextVideoConfig c, int queries, long seed) {
    int dv = c.visionConfig().hiddenSize();
    QFormerConfig qc = new QFormerConfig(dv, dv, heads(dv), 4 * dv, 2, queries, 1);
    Map<String, NDArray> qw = QFormer.initWeights(m, qc, seed);
    QFormer qformer = new QFormer(qc, qw);
    PooledConnector mlp =
        PooledConnector.fresh(
            m, PooledConnector.Pool.NONE, 1, 1, dv, c.textConfig().hiddenSize(), seed + 1);
    return new QFormerConnector(qformer, mlp, params(qw, mlp));
  }

  private static Map<String, NDArray> params(Map<String, NDArray> qw, PooledConnector mlp) {
    Map<String, NDArray> params = new LinkedHashMap<>();
    qw.forEach((k, v) -> params.put("qformer." + k, v));
    params.putAll(mlp.parameters());
    return params;
  }

  /**
   * The Q-Former then the MLP; {@link #forwardTapped} hands the Q-Former's attention to R-GAE taps
   * (spec §7.4).
   */
  static final class QFormerConnector implements Connector {
    private final QFormer qformer;
    private final PooledConnector mlp;
    private final Map<String, NDArray> params;

    QFormerConnector(QFormer qformer, PooledConnector mlp, Map<String, NDArray> params) {
      this.qformer = qformer;
      this.mlp = mlp;
      this.params = params;
    }

    QFormer qformer() {
      return qformer;
    }

    @Override
    public NDArray forward(NDArray features) {
      return mlp.forward(qformer.forward(features)); // [BF, P, Dv] -> [BF, Q, Dv] -> [BF, Q, Dt]
    }

    /** {@link #forward} with the Q-Former's self- and cross-attention through the taps. */
    NDArray forwardTapped(
        NDArray features, UnaryOperator<NDArray> selfTap, UnaryOperator<NDArray> crossTap) {
      return mlp.forward(qformer.forward(features, selfTap, crossTap));
    }

    @Override
    public int tokensPerFrame() {
      return qformer.outputTokens();
    }

    @Override
    public Map<String, NDArray> parameters() {
      return params;
    }
  }

  static Connector cabstractor(NDManager m, LlavaNextVideoConfig c, long seed) {
    int dv = c.visionConfig().hiddenSize();
    CAbstractorConfig cc =
        new CAbstractorConfig(
            dv, c.visionConfig().gridSize(), dv, 3, 3, c.textConfig().hiddenSize());
    Map<String, NDArray> cw = CAbstractor.initWeights(m, cc, seed);
    CAbstractor abstractor = new CAbstractor(cc, cw);
    Map<String, NDArray> params = new LinkedHashMap<>();
    cw.forEach((k, v) -> params.put("cabstractor." + k, v));
    return new Connector() {
      @Override
      public NDArray forward(NDArray features) {
        return abstractor.forward(features); // [BF, g*g, Dv] -> [BF, 9, Dt]
      }

      @Override
      public int tokensPerFrame() {
        return cc.outputTokens();
      }

      @Override
      public Map<String, NDArray> parameters() {
        return params;
      }
    };
  }
}
