package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.llama.DecoderTrace;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.weights.WeightBinder;
import io.decostream.projector.Scalars;
import java.util.Objects;

/**
 * The Llama decoder of spec §4.2 as a batched, differentiable forward for training: {@code [B, T,
 * D]} spliced embeddings in, {@code [B, T, V]} logits out, causal mask, positions 0..T-1, no KV
 * cache (the cache's in-place writes would cut the autograd graph). Same weights (HF names via a
 * {@link WeightBinder}) and the same arithmetic as the inference {@code LlamaModel}, which {@code
 * BatchedLlamaTest} checks logit for logit; right padding is safe because a causal mask never lets
 * a real position see a later pad.
 */
final class BatchedLlama {

  private final LlamaConfig config;
  private final NDArray embedTokens;
  private final NDArray lmHead;
  private final NDArray finalNorm;
  private final NDArray[][] layers;
  private final int hidden;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final float eps;

  BatchedLlama(LlamaConfig config, WeightBinder model, WeightBinder head, String headName) {
    this.config = config.resolved();
    hidden = this.config.hiddenSize();
    heads = this.config.numAttentionHeads();
    kvHeads = this.config.numKeyValueHeads();
    headDim = this.config.headDim();
    eps = this.config.rmsNormEps().floatValue();
    int vocab = this.config.vocabSize();
    int inter = this.config.intermediateSize();
    long qOut = (long) heads * headDim;
    long kvOut = (long) kvHeads * headDim;
    boolean bias = this.config.attentionBias();
    embedTokens = model.bind("embed_tokens.weight", vocab, hidden);
    layers = new NDArray[this.config.numHiddenLayers()][];
    for (int l = 0; l < layers.length; l++) {
      WeightBinder b = model.scoped("layers." + l);
      layers[l] =
          new NDArray[] {
            b.bind("input_layernorm.weight", hidden),
            b.bind("self_attn.q_proj.weight", qOut, hidden),
            bias ? b.bind("self_attn.q_proj.bias", qOut) : null,
            b.bind("self_attn.k_proj.weight", kvOut, hidden),
            bias ? b.bind("self_attn.k_proj.bias", kvOut) : null,
            b.bind("self_attn.v_proj.weight", kvOut, hidden),
            bias ? b.bind("self_attn.v_proj.bias", kvOut) : null,
            b.bind("self_attn.o_proj.weight", hidden, qOut),
            b.bind("post_attention_layernorm.weight", hidden),
            b.bind("mlp.gate_proj.weight", inter, hidden),
            b.bind("mlp.up_proj.weight", inter, hidden),
            b.bind("mlp.down_proj.weight", hidden, inter)
          };
    }
    finalNorm = model.bind("norm.weight", hidden);
    lmHead =
        head == null ? embedTokens : head.bind(Objects.requireNonNull(headName), vocab, hidden);
  }

  int hiddenSize() {
    return hidden;
  }

  int headCount() {
    return heads;
  }

  int layerCount() {
    return layers.length;
  }

  /** Token embeddings {@code embed_tokens[ids]} [len, D] (differentiable w.r.t. the table). */
  NDArray embed(NDManager m, int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    NDArray out =
        embedTokens.get(m.create(l)); // lands on the table's manager: move it to the step's
    out.attach(m);
    return out;
  }

  private static NDArray ropeApply(NDArray x, NDArray cos, NDArray sinSigned) {
    NDList halves = x.split(2, 3); // x is [B, H, T, hd]
    return x.mul(cos).add(halves.get(1).concat(halves.get(0), 3).mul(sinSigned));
  }

  private NDArray rms(NDArray x, NDArray w) {
    return x.div(x.square().mean(new int[] {-1}, true).add(eps).sqrt()).mul(w);
  }

  private static NDArray linear(NDArray x, NDArray w, NDArray b) {
    return (b == null ? Linear.linear(x, w) : Linear.linear(x, w, b)).singletonOrThrow();
  }

  /**
   * Final hidden states [B, T, D] after the last RMSNorm; with a {@code trace}, also records each
   * layer's attention on the trace's rows (and their residual stream when it asks).
   */
  NDArray hidden(NDArray x, DecoderTrace trace) {
    Shape s = x.getShape();
    long b = s.get(0);
    int t = Math.toIntExact(s.get(1));
    NDManager m = x.getManager();
    // the inference decoder's own RoPE tables (spec §4.2), for positions 0..T-1
    NDArray[] cs =
        LlamaModel.ropeTables(m, t, headDim, config.ropeTheta(), config.ropeScalingFactor());
    NDArray mask =
        m.arange(0, t, 1, DataType.INT64)
            .reshape(1, t)
            .gt(m.arange(0, t, 1, DataType.INT64).reshape(t, 1))
            .toType(DataType.FLOAT32, false)
            .mul(-3.4028235e38f); // [T, T], finfo.min above the diagonal
    int rep = heads / kvHeads;
    NDArray h = x;
    for (NDArray[] w : layers) {
      if (trace != null) {
        trace.recordResidual(h);
      }
      NDArray n = rms(h, w[0]);
      NDArray q = linear(n, w[1], w[2]).reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
      NDArray k = linear(n, w[3], w[4]).reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3);
      NDArray v = linear(n, w[5], w[6]).reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3);
      q = ropeApply(q, cs[0], cs[1]);
      k = ropeApply(k, cs[0], cs[1]);
      if (rep > 1) { // repeat_kv: kv head g serves query heads g*rep .. g*rep+rep-1
        k = k.expandDims(2).repeat(2, rep).reshape(b, heads, t, headDim);
        v = v.expandDims(2).repeat(2, rep).reshape(b, heads, t, headDim);
      }
      NDArray probs =
          Scalars.div(q.matMul(k.transpose(0, 1, 3, 2)), (float) Math.sqrt(headDim))
              .add(mask)
              .softmax(-1);
      if (trace != null) {
        trace.recordAttention(probs);
      }
      NDArray o = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
      h = h.add(Linear.linear(o, w[7]).singletonOrThrow());
      n = rms(h, w[8]);
      NDArray gate = Linear.linear(n, w[9]).singletonOrThrow();
      NDArray up = Linear.linear(n, w[10]).singletonOrThrow();
      h =
          h.add(
              Linear.linear(gate.mul(Activation.sigmoid(gate)).mul(up), w[11]).singletonOrThrow());
    }
    if (trace != null) {
      trace.recordResidual(h);
    }
    return rms(h, finalNorm);
  }

  /**
   * The LM head read off residual-stream rows [.., D] through the final norm (a "logit lens"): what
   * those rows would predict were they the last layer's output.
   */
  NDArray lensLogits(NDArray rows) {
    return Linear.linear(rms(rows, finalNorm), lmHead).singletonOrThrow();
  }

  /** Logits [B, T, V] of every position. */
  NDArray logits(NDArray x) {
    return Linear.linear(hidden(x, null), lmHead).singletonOrThrow();
  }

  /**
   * Logits [B, to - from, V] of positions from..to-1 only (the lm head runs on those rows alone);
   * with a {@code trace} (may be null), also records it as {@link #hidden(NDArray, DecoderTrace)}.
   */
  NDArray logits(NDArray x, int from, int to, DecoderTrace trace) {
    return Linear.linear(hidden(x, trace).get(":, " + from + ":" + to + ", :"), lmHead)
        .singletonOrThrow();
  }
}
