package io.decostream.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.function.UnaryOperator;

/**
 * BLIP-2 style Q-Former, the learned-query compressive baseline of models.md §3.6 ([NX-QF] {@code
 * Qformer}; HF {@code Blip2QFormerModel}), as a differentiable block on DJL NDArrays.
 *
 * <pre>
 * V [B,P,Dv] → ln_vision (LayerNorm Dv, eps 1e-5)
 * h = layernorm(query_tokens) (eps 1e-12), broadcast to [B,Q,H]
 * for layer i (post-LN BertLayer, queries only, no text):
 *   h = LN(h + dense(SelfAttn(h)))                                  attention.*
 *   if i % crossAttentionFreq == 0:
 *     h = LN(h + dense(CrossAttn(q = h, k,v = Linear_{Dv→H}(ln_vision(V)))))   crossattention.*
 *   h = LN(h + Linear_{I→H}(GELU_erf(Linear_{H→I}(h))))               intermediate_query / output_query
 * output h [B,Q,H]  (no output projection: the caller puts its MLP after it)
 * </pre>
 *
 * Attention: q/k/v linears with bias, heads split as {@code [B,heads,T,H/heads]}, scores {@code q
 * k^T / sqrt(H/heads)}, softmax over keys, no mask; all LayerNorms of the BERT layers use eps
 * 1e-12. Dropout is omitted (eval behaviour; the baseline is trained without it).
 *
 * <p>Weight names (HF {@code Blip2QFormerModel} names, plus BLIP-2/LAVIS {@code ln_vision} and the
 * top-level {@code query_tokens}; {@code Linear} weights are {@code [out, in]}):
 *
 * <pre>
 * ln_vision.{weight,bias}                                          [Dv]
 * query_tokens                                                     [1,Q,H]
 * layernorm.{weight,bias}                                          [H]
 * encoder.layer.{i}.attention.attention.{query,key,value}.weight   [H,H]   .bias [H]
 * encoder.layer.{i}.attention.output.dense.weight                  [H,H]   .bias [H]
 * encoder.layer.{i}.attention.output.LayerNorm.{weight,bias}       [H]
 * encoder.layer.{i}.crossattention.attention.query.weight          [H,H]   .bias [H]   (only i % freq == 0)
 * encoder.layer.{i}.crossattention.attention.{key,value}.weight    [H,Dv]  .bias [H]
 * encoder.layer.{i}.crossattention.output.dense.weight             [H,H]   .bias [H]
 * encoder.layer.{i}.crossattention.output.LayerNorm.{weight,bias}  [H]
 * encoder.layer.{i}.intermediate_query.dense.weight                [I,H]   .bias [I]
 * encoder.layer.{i}.output_query.dense.weight                      [H,I]   .bias [H]
 * encoder.layer.{i}.output_query.LayerNorm.{weight,bias}           [H]
 * </pre>
 *
 * HF's text-branch {@code intermediate}/{@code output} FFN (used only for text tokens) is not part
 * of this block: only queries flow through it.
 *
 * <p>The block does not own its weight arrays (they stay on the caller's manager, e.g. with {@code
 * setRequiresGradient(true)} for training); {@link #forward} closes its intermediates and returns a
 * result on the input's manager.
 */
public final class QFormer {

  static final float LN_VISION_EPS = 1e-5f; // ln_vision = torch nn.LayerNorm default
  static final float BERT_LN_EPS = 1e-12f; // BertConfig layer_norm_eps
  static final double INIT_STD = 0.02; // BERT initializer_range; BLIP-2 query_tokens std

  private final QFormerConfig config;
  private final LinkedHashMap<String, NDArray> w;

  /**
   * @param weights every name of {@link #weightShapes} with exactly that shape (FLOAT32), nothing
   *     else; the arrays are used as they are (not copied)
   * @throws IllegalArgumentException naming missing, unused or misshaped weights
   */
  public QFormer(QFormerConfig config, Map<String, NDArray> weights) {
    this.config = Objects.requireNonNull(config, "config");
    this.w = BlockWeights.bind("QFormer", weightShapes(config), weights);
  }

  /**
   * Expected weight names and shapes, in a fixed order (the order {@link #initWeights} samples).
   */
  public static LinkedHashMap<String, Shape> weightShapes(QFormerConfig c) {
    Objects.requireNonNull(c, "config");
    long dv = c.visionWidth();
    long h = c.hidden();
    long inter = c.intermediate();
    LinkedHashMap<String, Shape> s = new LinkedHashMap<>();
    s.put("ln_vision.weight", new Shape(dv));
    s.put("ln_vision.bias", new Shape(dv));
    s.put("query_tokens", new Shape(1, c.queries(), h));
    s.put("layernorm.weight", new Shape(h));
    s.put("layernorm.bias", new Shape(h));
    for (int i = 0; i < c.layers(); i++) {
      String p = "encoder.layer." + i + ".";
      attentionShapes(s, p + "attention.", h, h);
      if (c.hasCrossAttention(i)) {
        attentionShapes(s, p + "crossattention.", h, dv);
      }
      s.put(p + "intermediate_query.dense.weight", new Shape(inter, h));
      s.put(p + "intermediate_query.dense.bias", new Shape(inter));
      s.put(p + "output_query.dense.weight", new Shape(h, inter));
      s.put(p + "output_query.dense.bias", new Shape(h));
      s.put(p + "output_query.LayerNorm.weight", new Shape(h));
      s.put(p + "output_query.LayerNorm.bias", new Shape(h));
    }
    return s;
  }

  private static void attentionShapes(Map<String, Shape> s, String p, long h, long kvIn) {
    s.put(p + "attention.query.weight", new Shape(h, h));
    s.put(p + "attention.query.bias", new Shape(h));
    s.put(p + "attention.key.weight", new Shape(h, kvIn));
    s.put(p + "attention.key.bias", new Shape(h));
    s.put(p + "attention.value.weight", new Shape(h, kvIn));
    s.put(p + "attention.value.bias", new Shape(h));
    s.put(p + "output.dense.weight", new Shape(h, h));
    s.put(p + "output.dense.bias", new Shape(h));
    s.put(p + "output.LayerNorm.weight", new Shape(h));
    s.put(p + "output.LayerNorm.bias", new Shape(h));
  }

  /**
   * Fresh deterministic weights on {@code m} (plain arrays, no gradient flag): LayerNorm weights 1
   * and biases 0, every other bias 0, linear weights and {@code query_tokens} N(0, 0.02²) (BERT
   * {@code initializer_range}, BLIP-2's query init). One {@link Random}{@code (seed)} is consumed
   * in {@link #weightShapes} order, so equal seeds give equal weights on every JVM.
   */
  public static Map<String, NDArray> initWeights(NDManager m, QFormerConfig c, long seed) {
    Objects.requireNonNull(m, "manager");
    Random rnd = new Random(seed);
    LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : weightShapes(c).entrySet()) {
      String name = e.getKey();
      Shape shape = e.getValue();
      NDArray a;
      if (isNormWeight(name)) {
        a = m.ones(shape);
      } else if (name.endsWith(".bias")) {
        a = m.zeros(shape);
      } else {
        a = BlockWeights.gaussian(m, shape, INIT_STD, rnd);
      }
      out.put(name, a);
    }
    return out;
  }

  private static boolean isNormWeight(String name) {
    return name.equals("ln_vision.weight")
        || name.equals("layernorm.weight")
        || name.endsWith(".LayerNorm.weight");
  }

  public QFormerConfig config() {
    return config;
  }

  /** The bound weights in {@link #weightShapes} order (read-only view; the arrays are shared). */
  public Map<String, NDArray> weights() {
    return Collections.unmodifiableMap(w);
  }

  /** Q, the number of output tokens. */
  public int outputTokens() {
    return config.queries();
  }

  /** Output width = Q-Former hidden size. */
  public int outputWidth() {
    return config.hidden();
  }

  /**
   * Compresses vision features {@code v [B, P, Dv]} (any P) to {@code [B, Q, hidden]} on {@code
   * v}'s manager. Differentiable with respect to every weight and to {@code v}.
   */
  public NDArray forward(NDArray v) {
    return forward(v, UnaryOperator.identity(), UnaryOperator.identity());
  }

  /**
   * {@link #forward(NDArray)} with attention taps (R-GAE, spec §7.1, §7.4): every layer's
   * self-attention probabilities {@code [B,heads,Q,Q]} pass through {@code selfTap} and every
   * cross-attention's {@code [B,heads,Q,P]} through {@code crossTap} before they weight the values,
   * in layer order. An {@code io.decostream.nn.rgae.AttentionRecorder} as tap records A and, after
   * a backward pass, dA; identity taps give exactly {@link #forward(NDArray)}.
   */
  public NDArray forward(
      NDArray v, UnaryOperator<NDArray> selfTap, UnaryOperator<NDArray> crossTap) {
    Objects.requireNonNull(v, "v");
    Objects.requireNonNull(selfTap, "selfTap");
    Objects.requireNonNull(crossTap, "crossTap");
    Shape vs = v.getShape();
    if (vs.dimension() != 3 || vs.get(2) != config.visionWidth()) {
      throw new IllegalArgumentException(
          "QFormer input must be [B, P, Dv=" + config.visionWidth() + "], got " + vs);
    }
    long b = vs.get(0);
    NDManager caller = v.getManager();
    try (NDManager scope = caller.newSubManager()) {
      // Every op result lands on its first operand's manager: parking v in the scope makes all
      // intermediates scope-owned, so they are released at the end (autograd keeps what it saved).
      v.tempAttach(scope);
      // ln_vision: [B,P,Dv] (BLIP-2 normalises the ViT features before the cross-attention)
      NDArray vis =
          BlockWeights.layerNorm(
              v, w.get("ln_vision.weight"), w.get("ln_vision.bias"), LN_VISION_EPS);
      // query embeddings: layernorm(query_tokens) [1,Q,H] → expand to [B,Q,H]
      NDArray q0 =
          BlockWeights.layerNorm(
              w.get("query_tokens"),
              w.get("layernorm.weight"),
              w.get("layernorm.bias"),
              BERT_LN_EPS);
      q0.attach(scope); // computed from a weight: it was put on the weights' manager
      NDArray h = q0.broadcast(new Shape(b, config.queries(), config.hidden()));
      for (int i = 0; i < config.layers(); i++) {
        String p = "encoder.layer." + i + ".";
        h = attention(p + "attention.", h, h, selfTap); // [B,Q,H] self-attn, add & LN
        if (config.hasCrossAttention(i)) {
          h = attention(p + "crossattention.", h, vis, crossTap); // [B,Q,H] queries → patches
        }
        // query FFN: [B,Q,H] → [B,Q,I] → GELU(erf) → [B,Q,H], add & LN
        NDArray up =
            BlockWeights.linear(
                h,
                w.get(p + "intermediate_query.dense.weight"),
                w.get(p + "intermediate_query.dense.bias"));
        NDArray act = Activation.gelu(up);
        NDArray down =
            BlockWeights.linear(
                act, w.get(p + "output_query.dense.weight"), w.get(p + "output_query.dense.bias"));
        h =
            BlockWeights.layerNorm(
                down.add(h),
                w.get(p + "output_query.LayerNorm.weight"),
                w.get(p + "output_query.LayerNorm.bias"),
                BERT_LN_EPS);
      }
      h.attach(caller); // [B,Q,H]
      return h;
    }
  }

  /**
   * One Blip2QFormerAttention: multi-head attention of {@code x} (queries) over {@code kv} (itself
   * for self-attention, ln_vision(V) for cross-attention), output dense, residual, LN.
   */
  private NDArray attention(String p, NDArray x, NDArray kv, UnaryOperator<NDArray> tap) {
    long b = x.getShape().get(0);
    long tq = x.getShape().get(1);
    long tk = kv.getShape().get(1);
    int heads = config.heads();
    int hd = config.headDim();
    long h = config.hidden();
    // projections: [B,Tq,H], [B,Tk,H], [B,Tk,H] → heads [B,nh,T,hd]
    NDArray q =
        BlockWeights.linear(
                x, w.get(p + "attention.query.weight"), w.get(p + "attention.query.bias"))
            .reshape(b, tq, heads, hd)
            .transpose(0, 2, 1, 3);
    NDArray k =
        BlockWeights.linear(kv, w.get(p + "attention.key.weight"), w.get(p + "attention.key.bias"))
            .reshape(b, tk, heads, hd)
            .transpose(0, 2, 1, 3);
    NDArray v =
        BlockWeights.linear(
                kv, w.get(p + "attention.value.weight"), w.get(p + "attention.value.bias"))
            .reshape(b, tk, heads, hd)
            .transpose(0, 2, 1, 3);
    // scores [B,nh,Tq,Tk] = q k^T / sqrt(hd); probabilities over keys
    NDArray scores = Scalars.div(q.matMul(k.transpose(0, 1, 3, 2)), (float) Math.sqrt(hd));
    NDArray probs = tap.apply(scores.softmax(-1)); // the R-GAE tap sees A (§7.1)
    // context [B,nh,Tq,hd] → [B,Tq,nh,hd] → [B,Tq,H]
    NDArray ctx = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, tq, h);
    NDArray out =
        BlockWeights.linear(ctx, w.get(p + "output.dense.weight"), w.get(p + "output.dense.bias"));
    // Blip2QFormerSelfOutput: LN(dense(ctx) + input)
    return BlockWeights.layerNorm(
        out.add(x),
        w.get(p + "output.LayerNorm.weight"),
        w.get(p + "output.LayerNorm.bias"),
        BERT_LN_EPS);
  }
}
