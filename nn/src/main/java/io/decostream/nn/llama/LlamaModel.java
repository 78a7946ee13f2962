package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.weights.WeightBinder;
import io.decostream.projector.Scalars;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The Llama decoder (spec §4.2, HF {@code LlamaForCausalLM}; also Vicuna and the llava language
 * model) on DJL PyTorch NDArrays, fp32, batch 1, with a preallocated {@link KvCache} (spec §4.3).
 *
 * <p>Per layer: {@code h += o_proj(attn(RoPE(q), RoPE(k), v))} on the RMS-normalised input, then
 * {@code h += down(silu(gate(x)) * up(x))} on the RMS-normalised result; final RMSNorm and lm head.
 * Attention is written out explicitly (spec §0: no SDPA) with softmax in fp32. GQA is computed
 * without materialising {@code repeat_kv}: the query heads served by KV head {@code g} (heads
 * {@code g*rep .. g*rep+rep-1}, the repeat_kv order) are stacked into one {@code [rep*T, hd]}
 * matrix per KV head, which gives exactly the same dot products as repeating K and V.
 *
 * <p>Weights stay owned by the {@link WeightBinder} (no copies are made); this object owns only the
 * RoPE tables and scratch arrays. Concurrency: the model is read-only after construction; several
 * threads may run it at once as long as each uses its own {@link KvCache}.
 */
public final class LlamaModel implements AutoCloseable {

  /** fp32 {@code finfo.min}, the additive causal-mask value HF uses (spec §4.2). */
  private static final float MASK_VALUE = -3.4028235e38f;

  private final LlamaConfig config;
  private final NDManager manager;
  private final NDArray embedTokens;
  private final NDArray lmHead;
  private final NDArray finalNorm;
  private final Layer[] layers;

  /** cos / signed sin of RoPE for every position < contextLength, [contextLength, headDim]. */
  private final NDArray ropeCos;

  private final NDArray ropeSinSigned;
  private final int hidden;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final int vocab;
  private final float eps;
  private final float attnScale;

  /** One decoder layer's weights (HF names in comments). */
  private record Layer(
      NDArray inputNorm, // input_layernorm.weight [D]
      NDArray wq,
      NDArray bq, // self_attn.q_proj.{weight [nH*hd, D], bias}
      NDArray wk,
      NDArray bk, // self_attn.k_proj [nKV*hd, D]
      NDArray wv,
      NDArray bv, // self_attn.v_proj [nKV*hd, D]
      NDArray wo, // self_attn.o_proj.weight [D, nH*hd]
      NDArray postNorm, // post_attention_layernorm.weight [D]
      NDArray wGate,
      NDArray wUp,
      NDArray wDown) {} // mlp.{gate,up,down}_proj.weight

  /**
   * Binds every weight of the language model.
   *
   * @param config the text config (defaults are filled in via {@link LlamaConfig#resolved()})
   * @param model binder scoped to the language model's prefix (before {@code embed_tokens}, {@code
   *     layers}, {@code norm}), e.g. {@code language_model.model.}
   * @param lmHead binder holding the output projection, or {@code null} when the embeddings are
   *     tied
   * @param lmHeadName name of the output projection in {@code lmHead} (e.g. {@code lm_head.weight})
   */
  public LlamaModel(
      LlamaConfig config, WeightBinder model, WeightBinder lmHead, String lmHeadName) {
    this.config = Objects.requireNonNull(config, "config").resolved();
    Objects.requireNonNull(model, "model");
    hidden = this.config.hiddenSize();
    heads = this.config.numAttentionHeads();
    kvHeads = this.config.numKeyValueHeads();
    headDim = this.config.headDim();
    vocab = this.config.vocabSize();
    eps = this.config.rmsNormEps().floatValue();
    attnScale = (float) Math.sqrt(headDim);
    int inter = this.config.intermediateSize();
    long qOut = (long) heads * headDim;
    long kvOut = (long) kvHeads * headDim;
    boolean bias = this.config.attentionBias();

    embedTokens = model.bind("embed_tokens.weight", vocab, hidden);
    layers = new Layer[this.config.numHiddenLayers()];
    for (int l = 0; l < layers.length; l++) {
      WeightBinder b = model.scoped("layers." + l);
      layers[l] =
          new Layer(
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
              b.bind("mlp.down_proj.weight", hidden, inter));
    }
    finalNorm = model.bind("norm.weight", hidden);
    this.lmHead =
        lmHead == null
            ? embedTokens
            : lmHead.bind(Objects.requireNonNull(lmHeadName, "lmHeadName"), vocab, hidden);

    manager = embedTokens.getManager().newSubManager();
    NDArray[] tables =
        ropeTables(
            manager,
            contextLength(),
            headDim,
            this.config.ropeTheta(),
            this.config.ropeScalingFactor());
    ropeCos = tables[0];
    ropeSinSigned = tables[1];
  }

  /**
   * RoPE tables (spec §4.2, HF half-split layout), computed in fp32 by torch as HF does: {@code
   * inv_freq = 1 / theta^(arange(0,hd,2)/hd)}, {@code freqs = (pos / factor) ⊗ inv_freq}, {@code
   * emb = [freqs, freqs]}. Returns cos(emb) and the sign-folded sine {@code [-sin, +sin]} (halves),
   * so that {@code rotate_half(x) * sin == [x2, x1] * sinSigned} exactly (negation is exact).
   */
  public static NDArray[] ropeTables(
      NDManager m, int positions, int headDim, double theta, double linearFactor) {
    try (NDManager tmp = m.newSubManager()) {
      NDArray exponent = tmp.arange(0, headDim, 2, DataType.FLOAT32).div((float) headDim);
      NDArray invFreq =
          tmp.ones(new Shape(headDim / 2))
              .div(tmp.full(new Shape(headDim / 2), (float) theta).pow(exponent));
      NDArray pos = tmp.arange(0, positions, 1, DataType.FLOAT32);
      if (linearFactor != 1.0) {
        pos = pos.div((float) linearFactor); // rope_scaling {"type": "linear"}: positions / factor
      }
      NDArray freqs = pos.reshape(positions, 1).mul(invFreq.reshape(1, headDim / 2)); // [P, hd/2]
      NDArray cos = freqs.cos();
      NDArray sin = freqs.sin();
      NDArray cosFull = cos.concat(cos, 1);
      NDArray sinSigned = sin.neg().concat(sin, 1);
      cosFull.attach(m);
      sinSigned.attach(m);
      return new NDArray[] {cosFull, sinSigned};
    }
  }

  public LlamaConfig config() {
    return config;
  }

  /** max_position_embeddings: the longest sequence (prompt + generated) this model accepts. */
  public int contextLength() {
    return config.maxPositionEmbeddings();
  }

  public int hiddenSize() {
    return hidden;
  }

  public int vocabSize() {
    return vocab;
  }

  /** A fresh cache for up to {@code maxLen} positions (at most {@link #contextLength()}). */
  public KvCache newCache(int maxLen) {
    if (maxLen < 1 || maxLen > contextLength()) {
      throw new IllegalArgumentException(
          "cache length " + maxLen + " must be in [1, " + contextLength() + "] (context length)");
    }
    return new KvCache(manager, layers.length, kvHeads, headDim, maxLen);
  }

  /** Token embeddings {@code embed_tokens[ids]}, [T, D], on {@code target}. */
  public NDArray embed(NDManager target, int[] ids) {
    Objects.requireNonNull(ids, "ids");
    if (ids.length == 0) {
      throw new IllegalArgumentException("no token ids to embed");
    }
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= vocab) {
        throw new IllegalArgumentException(
            "token id "
                + ids[i]
                + " at position "
                + i
                + " is outside the vocabulary [0, "
                + vocab
                + ")");
      }
      l[i] = ids[i];
    }
    try (NDManager tmp = target.newSubManager()) {
      NDArray idx =
          Scalars.owned(tmp.create(l), DataType.INT64); // the gather's backward keeps these indices
      NDArray out = embedTokens.get(tmp, new NDIndex("{}", idx));
      out.attach(target);
      return out;
    }
  }

  /** Token embeddings on this model's manager; the caller must close the result. */
  public NDArray embed(int[] ids) {
    return embed(manager, ids);
  }

  /**
   * Runs {@code embeddings} [T, D] (token or spliced embeddings) at positions {@code cache.length()
   * ..} {@code + T - 1}, appends their K/V to the cache and returns the logits of every row, [T,
   * V], on the manager of {@code embeddings}. A full recompute is a forward over the whole sequence
   * with a fresh cache.
   */
  public NDArray forward(NDArray embeddings, KvCache cache) {
    return run(embeddings, cache, false);
  }

  /**
   * As {@link #forward} but returns only the last row's logits, [V] (skips the lm head for other
   * rows).
   */
  public NDArray forwardLast(NDArray embeddings, KvCache cache) {
    return run(embeddings, cache, true);
  }

  /**
   * The tapped forward of R-GAE (spec §7.1, §7.8): a full causal forward over {@code embeddings}
   * [T, D] at positions {@code 0 .. T-1} with no KV cache (nothing is read or written in any
   * cache), returning the logits of every row, [T, V], on the manager of {@code embeddings}.
   *
   * <p>For every layer, in order, the post-softmax probabilities {@code A} [nH, T, T] (one map per
   * query head; with GQA, head {@code g*rep+r} attends with KV head {@code g}, the repeat_kv order)
   * are handed to {@code tap}, and whatever it returns (same shape) is used in their place for
   * {@code A V}. R-GAE's tap records {@code A} and returns {@code A + Z} with a fresh zero leaf
   * {@code Z} that requires a gradient, so that after {@code backward(y)} inside a {@code
   * GradientCollector}, {@code Z.getGradient()} is {@code ∂y/∂A} (DJL has no {@code retain_grad}).
   * The argument lives in a per-layer scope that is closed when the layer is done: a tap that keeps
   * it must {@code attach} it to its own manager; the returned array may stay in that scope.
   *
   * <p>This path is separate from {@link #forward}/{@link #forwardLast}, which never call a tap and
   * do no extra work. Values equal {@link #forward} with a fresh cache (the same ops in the same
   * order).
   *
   * @param tap called once per layer with A [nH, T, T]; must return an array of the same shape
   * @throws IllegalArgumentException for a misshaped input or a sequence longer than the context
   *     length
   */
  public NDArray forwardTapped(NDArray embeddings, UnaryOperator<NDArray> tap) {
    Objects.requireNonNull(embeddings, "embeddings");
    Objects.requireNonNull(tap, "tap");
    Shape s = embeddings.getShape();
    if (s.dimension() != 2 || s.get(1) != hidden || s.get(0) < 1) {
      throw new IllegalArgumentException(
          "embeddings must be [T, " + hidden + "] with T >= 1, got " + s);
    }
    if (embeddings.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException(
          "embeddings must be FLOAT32, got " + embeddings.getDataType());
    }
    int t = Math.toIntExact(s.get(0));
    if (t > contextLength()) {
      throw new IllegalArgumentException(
          "sequence of " + t + " positions exceeds the context length " + contextLength());
    }
    NDManager caller = embeddings.getManager();
    try (NDManager step = caller.newSubManager()) {
      step.tempAttachAll(embeddings);
      NDArray cos = ropeCos.get(step, new NDIndex("0:{}", t));
      NDArray sin = ropeSinSigned.get(step, new NDIndex("0:{}", t));
      NDArray mask = null;
      if (t > 1) {
        NDArray rows = step.arange(0, t, 1, DataType.INT64).reshape(t, 1);
        NDArray cols = step.arange(0, t, 1, DataType.INT64).reshape(1, t);
        mask =
            cols.gt(rows).toType(DataType.FLOAT32, false).mul(MASK_VALUE); // [T, T], same as run()
      }
      NDArray h = embeddings;
      for (int l = 0; l < layers.length; l++) {
        NDArray next;
        try (NDManager ls = step.newSubManager()) {
          next = layer(ls, layers[l], h, null, l, 0, t, cos, sin, mask, tap);
          next.attach(step);
        }
        if (h != embeddings) {
          h.close();
        }
        h = next;
      }
      NDArray logits = Linear.linear(rmsNorm(h, finalNorm), lmHead).singletonOrThrow();
      logits.attach(caller);
      return logits;
    }
  }

  private NDArray run(NDArray x, KvCache cache, boolean lastOnly) {
    Objects.requireNonNull(x, "embeddings");
    Objects.requireNonNull(cache, "cache");
    Shape s = x.getShape();
    if (s.dimension() != 2 || s.get(1) != hidden || s.get(0) < 1) {
      throw new IllegalArgumentException(
          "embeddings must be [T, " + hidden + "] with T >= 1, got " + s);
    }
    if (x.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException("embeddings must be FLOAT32, got " + x.getDataType());
    }
    int t = Math.toIntExact(s.get(0));
    int past = cache.length();
    if (t > cache.remaining()) {
      throw new IllegalArgumentException(
          "sequence too long: "
              + past
              + " cached + "
              + t
              + " new positions exceed the"
              + " cache capacity "
              + cache.capacity()
              + " (context length "
              + contextLength()
              + ")");
    }
    NDManager caller = x.getManager();
    try (NDManager step = caller.newSubManager()) {
      step.tempAttachAll(x);
      int total = past + t;
      NDArray cos =
          ropeCos.get(step, new NDIndex("{}:{}", past, total)); // [T, hd], broadcast over heads
      NDArray sin = ropeSinSigned.get(step, new NDIndex("{}:{}", past, total));
      // causal mask with cache offset (spec §4.2): query t sees keys 0..past+t. A single new token
      // sees all.
      NDArray mask = null;
      if (t > 1) {
        NDArray rows = step.arange(past, total, 1, DataType.INT64).reshape(t, 1);
        NDArray cols = step.arange(0, total, 1, DataType.INT64).reshape(1, total);
        mask = cols.gt(rows).toType(DataType.FLOAT32, false).mul(MASK_VALUE); // [T, L]
      }
      NDArray h = x;
      for (int l = 0; l < layers.length; l++) {
        NDArray next;
        try (NDManager ls = step.newSubManager()) {
          next = layer(ls, layers[l], h, cache, l, past, t, cos, sin, mask, null);
          next.attach(step);
        }
        if (h != x) {
          h.close();
        }
        h = next;
      }
      cache.advance(t);
      if (lastOnly) {
        h = h.get(step, new NDIndex("{}:{}", t - 1, t));
      }
      NDArray logits = Linear.linear(rmsNorm(h, finalNorm), lmHead).singletonOrThrow();
      if (lastOnly) {
        logits = logits.reshape(vocab);
      }
      logits.attach(caller);
      return logits;
    }
  }

  /**
   * RMSNorm in fp32 (spec §4.2): {@code w * x / sqrt(mean(x^2) + eps)}; no mean subtraction, no
   * bias.
   */
  private NDArray rmsNorm(NDArray x, NDArray w) {
    return x.div(x.square().mean(new int[] {-1}, true).add(eps).sqrt()).mul(w);
  }

  /**
   * {@code x*cos + rotate_half(x)*sin} with {@code rotate_half(x) = [-x2, x1]} (HF half-split
   * RoPE).
   */
  private static NDArray rope(NDArray x, NDArray cos, NDArray sinSigned) {
    NDList halves = x.split(2, 2); // x is [heads, T, hd]
    NDArray swapped = halves.get(1).concat(halves.get(0), 2);
    return x.mul(cos).add(swapped.mul(sinSigned));
  }

  /**
   * One decoder layer. {@code cache == null} (tapped path only): no cache, keys/values are this
   * call's own ({@code past} must be 0). {@code tap == null} on the ordinary path: no extra work.
   */
  private NDArray layer(
      NDManager ls,
      Layer w,
      NDArray h,
      KvCache cache,
      int l,
      int past,
      int t,
      NDArray cos,
      NDArray sin,
      NDArray mask,
      UnaryOperator<NDArray> tap) {
    ls.tempAttachAll(h);
    int total = past + t;
    int rep = heads / kvHeads;
    // --- self-attention block
    NDArray x = rmsNorm(h, w.inputNorm());
    NDArray q =
        linear(x, w.wq(), w.bq()).reshape(t, heads, headDim).transpose(1, 0, 2); // [nH, T, hd]
    NDArray k =
        linear(x, w.wk(), w.bk()).reshape(t, kvHeads, headDim).transpose(1, 0, 2); // [nKV, T, hd]
    NDArray v = linear(x, w.wv(), w.bv()).reshape(t, kvHeads, headDim).transpose(1, 0, 2);
    q = rope(q, cos, sin);
    k = rope(k, cos, sin);
    NDArray keys;
    NDArray values;
    if (cache != null) {
      // write post-RoPE K and V in place at positions past..total-1 (spec §4.3)
      NDIndex slot = new NDIndex(":, {}:{}, :", past, total);
      cache.keys(l).set(slot, k);
      cache.values(l).set(slot, v);
      NDIndex upTo = new NDIndex(":, 0:{}, :", total);
      keys = cache.keys(l).get(ls, upTo); // [nKV, L, hd]
      values = cache.values(l).get(ls, upTo);
    } else {
      keys = k; // tapped full-sequence pass (§7.1): no cache
      values = v;
    }
    // GQA: query head g*rep+r uses kv head g (repeat_kv order); stack the rep heads of each group
    NDArray qg = q.reshape(kvHeads, (long) rep * t, headDim);
    NDArray scores = Scalars.div(qg.matMul(keys.transpose(0, 2, 1)), attnScale); // [nKV, rep*T, L]
    if (mask != null) {
      scores =
          scores.reshape(kvHeads, rep, t, total).add(mask).reshape(kvHeads, (long) rep * t, total);
    }
    NDArray probs = scores.softmax(-1); // fp32 softmax (spec §0)
    if (tap != null) {
      // R-GAE tap (§7.1): per query head [nH, T, L] (head g*rep+r = kv group g), replaced by what
      // the tap returns
      Shape perHead = new Shape(heads, t, total);
      NDArray tapped = tap.apply(probs.reshape(perHead));
      if (tapped == null || !tapped.getShape().equals(perHead)) {
        throw new IllegalStateException(
            "attention tap must return an array of shape "
                + perHead
                + ", got "
                + (tapped == null ? "null" : tapped.getShape()));
      }
      probs = tapped.reshape(kvHeads, (long) rep * t, total);
    }
    NDArray o =
        probs
            .matMul(values) // [nKV, rep*T, hd]
            .reshape(heads, t, headDim)
            .transpose(1, 0, 2)
            .reshape(t, (long) heads * headDim);
    h = h.add(Linear.linear(o, w.wo()).singletonOrThrow());
    // --- MLP block: down(silu(gate(x)) * up(x)), no biases
    x = rmsNorm(h, w.postNorm());
    NDArray gate = Linear.linear(x, w.wGate()).singletonOrThrow();
    NDArray up = Linear.linear(x, w.wUp()).singletonOrThrow();
    NDArray act = gate.mul(Activation.sigmoid(gate)).mul(up);
    return h.add(Linear.linear(act, w.wDown()).singletonOrThrow());
  }

  private static NDArray linear(NDArray x, NDArray w, NDArray b) {
    return (b == null ? Linear.linear(x, w) : Linear.linear(x, w, b)).singletonOrThrow();
  }

  /**
   * Releases the RoPE tables and scratch memory; weights belong to the binder (close the
   * checkpoint).
   */
  @Override
  public void close() {
    manager.close();
  }

  @Override
  public String toString() {
    return "LlamaModel[layers="
        + layers.length
        + ", hidden="
        + hidden
        + ", heads="
        + heads
        + "/"
        + kvHeads
        + ", vocab="
        + vocab
        + ", context="
        + contextLength()
        + ", theta="
        + config.ropeTheta()
        + "]";
  }
}
