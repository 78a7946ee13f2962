package io.decostream.nn.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import io.decostream.nn.weights.WeightBinder;
import io.decostream.projector.Scalars;
import java.util.function.UnaryOperator;

/**
 * One pre-LN ViT encoder layer as CLIP (spec §1.3) and SigLIP (§2) share it, bound by HF key path
 * ({@code encoder.layers.{i}.}): {@code x + out_proj(MHA(layer_norm1(x)))}, then {@code x +
 * fc2(act(fc1(layer_norm2(x))))}. Attention is explicit softmax with no mask (§0: no SDPA; R-GAE
 * needs the probabilities). Only the MLP activation differs between the two towers.
 */
public final class VitEncoderLayer {

  /** The MLP activation named by {@code hidden_act}. */
  public enum MlpActivation {
    /** CLIP: {@code x * sigmoid(1.702 x)}. */
    QUICK_GELU,
    /** exact erf GELU. */
    GELU,
    /** SigLIP {@code gelu_pytorch_tanh}. */
    GELU_TANH;

    /**
     * quick_gelu and gelu by name; any other name (gelu_pytorch_tanh) is the tanh approximation.
     */
    public static MlpActivation of(String hiddenAct) {
      if ("quick_gelu".equals(hiddenAct)) {
        return QUICK_GELU;
      }
      return "gelu".equals(hiddenAct) ? GELU : GELU_TANH;
    }
  }

  /** √(2/π) of the tanh GELU approximation (§2). */
  private static final float GELU_TANH_BETA = (float) Math.sqrt(2.0 / Math.PI);

  private static final float GELU_TANH_KAPPA = 0.044715f;

  private final NDArray ln1w;
  private final NDArray ln1b;
  private final NDArray qw;
  private final NDArray qb;
  private final NDArray kw;
  private final NDArray kb;
  private final NDArray vw;
  private final NDArray vb;
  private final NDArray ow;
  private final NDArray ob;
  private final NDArray ln2w;
  private final NDArray ln2b;
  private final NDArray fc1w;
  private final NDArray fc1b;
  private final NDArray fc2w;
  private final NDArray fc2b;
  private final int hidden;
  private final int heads;
  private final float eps;
  private final MlpActivation act;

  /**
   * Binds the layer's 16 tensors from {@code layer} (scoped to {@code encoder.layers.{i}.}).
   *
   * @param hidden width D; @param intermediate MLP width; @param heads attention heads (D % heads
   *     == 0)
   */
  public VitEncoderLayer(
      WeightBinder layer, int hidden, int intermediate, int heads, float eps, MlpActivation act) {
    int d = hidden;
    int i = intermediate;
    this.ln1w = layer.bind("layer_norm1.weight", d);
    this.ln1b = layer.bind("layer_norm1.bias", d);
    this.qw = layer.bind("self_attn.q_proj.weight", d, d);
    this.qb = layer.bind("self_attn.q_proj.bias", d);
    this.kw = layer.bind("self_attn.k_proj.weight", d, d);
    this.kb = layer.bind("self_attn.k_proj.bias", d);
    this.vw = layer.bind("self_attn.v_proj.weight", d, d);
    this.vb = layer.bind("self_attn.v_proj.bias", d);
    this.ow = layer.bind("self_attn.out_proj.weight", d, d);
    this.ob = layer.bind("self_attn.out_proj.bias", d);
    this.ln2w = layer.bind("layer_norm2.weight", d);
    this.ln2b = layer.bind("layer_norm2.bias", d);
    this.fc1w = layer.bind("mlp.fc1.weight", i, d);
    this.fc1b = layer.bind("mlp.fc1.bias", i);
    this.fc2w = layer.bind("mlp.fc2.weight", d, i);
    this.fc2b = layer.bind("mlp.fc2.bias", d);
    this.hidden = hidden;
    this.heads = heads;
    this.eps = eps;
    this.act = act;
  }

  private NDArray layerNorm(NDArray x, NDArray w, NDArray b) {
    return LayerNorm.layerNorm(x, new Shape(hidden), w, b, eps).singletonOrThrow();
  }

  /** [B,T,D] → [B,T,D]; intermediates land in x's manager. */
  public NDArray forward(NDArray x) {
    return forward(x, null);
  }

  /**
   * As {@link #forward(NDArray)}, with an R-GAE attention tap (spec §7.1, §7.7): the post-softmax
   * probabilities [B, H, T, T] are handed to {@code tap} and what it returns (same shape) is used
   * for {@code A V}. {@code null} is the plain forward (no extra work).
   */
  public NDArray forward(NDArray x, UnaryOperator<NDArray> tap) {
    long[] sh = x.getShape().getShape();
    long b = sh[0];
    long t = sh[1];
    int hd = hidden / heads;
    NDArray h = layerNorm(x, ln1w, ln1b);
    NDArray q =
        Linear.linear(h, qw, qb).singletonOrThrow().reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
    NDArray k =
        Linear.linear(h, kw, kb).singletonOrThrow().reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
    NDArray v =
        Linear.linear(h, vw, vb).singletonOrThrow().reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
    NDArray probs =
        Scalars.mul(q.matMul(k.transpose(0, 1, 3, 2)), (float) Math.pow(hd, -0.5)).softmax(-1);
    if (tap != null) {
      Shape shape = probs.getShape();
      probs = tap.apply(probs);
      if (probs == null || !probs.getShape().equals(shape)) {
        throw new IllegalStateException(
            "attention tap must return an array of shape "
                + shape
                + ", got "
                + (probs == null ? "null" : probs.getShape()));
      }
    }
    NDArray o = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, hidden);
    x = x.add(Linear.linear(o, ow, ob).singletonOrThrow());
    h = Linear.linear(layerNorm(x, ln2w, ln2b), fc1w, fc1b).singletonOrThrow();
    h =
        switch (act) {
          case QUICK_GELU -> h.mul(Activation.sigmoid(Scalars.mul(h, 1.702f)));
          case GELU -> Activation.gelu(h);
          case GELU_TANH -> geluTanh(h);
        };
    return x.add(Linear.linear(h, fc2w, fc2b).singletonOrThrow());
  }

  /**
   * {@code gelu_pytorch_tanh} (§2, torch {@code gelu(approximate="tanh")}): {@code 0.5·x·(1 +
   * tanh(√(2/π)·(x + 0.044715·x³)))}.
   */
  public static NDArray geluTanh(NDArray x) {
    NDArray inner =
        Scalars.mul(x.add(Scalars.mul(x.mul(x).mul(x), GELU_TANH_KAPPA)), GELU_TANH_BETA);
    return Scalars.mul(x, 0.5f).mul(inner.tanh().add(1f));
  }
}
