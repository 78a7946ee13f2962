package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.weights.Bf16;
import io.decostream.nn.weights.Precision;
import io.decostream.nn.weights.WeightBinder;
import io.decostream.projector.Scalars;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The Llama decoder (spec §4.2, HF {@code LlamaForCausalLM}; also Vicuna, Qwen2 and the llava
 * language model) on DJL PyTorch NDArrays, fp32: the only implementation of the layer in the
 * project. It has three uses of the same layer code ({@code decode}, {@code layer}, {@code
 * attention}), which work on a leading batch dimension:
 *
 * <ul>
 *   <li>serving, batch 1, with a preallocated {@link KvCache} (spec §4.3): {@link #forward}, {@link
 *       #forwardLast};
 *   <li>R-GAE (spec §7.1): {@link #forwardTapped}, batch 1, no cache, a tap replaces the
 *       probabilities;
 *   <li>training: {@link #logits(NDArray)}, {@link #logits(NDArray, int, int, DecoderTrace)},
 *       batched, no cache, differentiable when the weights record gradients, with an optional
 *       {@link DecoderTrace}.
 * </ul>
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
  private final Precision precision;

  /**
   * The single-token step of serving on the Java Vector API (issue 20 point 2), or null when the
   * {@code jdk.incubator.vector} module is absent or {@code -Ddeco.decode.vector=false}: then
   * {@link #decodeNext} runs the DJL layer below.
   */
  private final DecodeStep fast;

  /**
   * Query rows per block of {@link #blockedAttention} (issue 20 point 4). Training's contexts (at
   * most 832 positions) ran 10% faster at 128 rows than at 32 (a {@code deco train} leg of 60
   * steps, the two alternated). At 4608 keys a block's scores, [12, 128, 4608] fp32 on the model
   * benchmark's shape, are 28 MiB: with jemalloc as {@code ./deco} sets it ({@code
   * oversize_threshold:0}) the allocator keeps them, and the 4608 prefill ran at 0.72-0.76 of its
   * floor against 0.64-0.66 at 32 rows, 0.68-0.73 against 0.62-0.65 in 512-row passes ({@code
   * PrefillBench 4608 2 0:32,0:128,0:32,0:128 2}); under glibc with {@code ./deco}'s tunables the
   * two were even. With jemalloc's default threshold (8 MiB) 128 rows re-faulted every block (4.6 M
   * minor faults, 0.50 against 0.60), which is why 32 rows served long windows before.
   */
  static final int DEFAULT_ATTENTION_BLOCK = 128;

  /** Query rows per block, or 0: {@link #DEFAULT_ATTENTION_BLOCK}. */
  private int attentionBlock;

  /**
   * Rows up to which {@link #forwardLast} runs on the Vector API step ({@link DecodeStep#prompt})
   * rather than the DJL layer (issue 20 point 1: a question's own tokens after its live window).
   * Few rows make small matrix products, where the DJL layer's ~45 ops a layer cost more than the
   * arithmetic; many rows make large ones, where libtorch's GEMM outruns the decode kernels. On the
   * model benchmark's shape ({@code DecodeBench 5 0 2 prompt}, 1152 and 4608 cached positions, 2
   * threads): fp32 weights, with a prompt's rows four to a weight load ({@link
   * DecodeKernels#dotF32QuadX4}), 20 rows 54-97 ms against the DJL layer's 115-129, 32 rows 64-129
   * against 110-154, 64 rows 128-263 against 151-229, 144 rows 292-536 against 258-458; BF16
   * weights, which the DJL layer widens to fp32 for every op, 20 rows 59-114 ms against 250-279 and
   * a whole 144-row frame 397-603 against 542-848.
   */
  static final int FAST_PROMPT_ROWS_F32 = 32;

  /** As {@link #FAST_PROMPT_ROWS_F32}, for F16 and BF16 weights. */
  static final int FAST_PROMPT_ROWS_16 = 160;

  private int fastPromptRows;

  /**
   * Rows per pass of {@link #prefill} (issue 20 point 4). Measured at 4608 positions on the model
   * benchmark's shape: as fast as 1024 and one pass, with about 100 MiB (1024) and 400 MiB (one
   * pass) less peak RSS.
   */
  public static final int DEFAULT_PREFILL_CHUNK = 512;

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
    this(config, model, lmHead, lmHeadName, Precision.F32);
  }

  /**
   * As above, with the weight matrices (embeddings, projections, lm head) kept at {@code
   * precision}; norms and biases stay F32. F16 models serve (prefill, decode, R-GAE) but do not
   * train.
   */
  public LlamaModel(
      LlamaConfig config,
      WeightBinder model,
      WeightBinder lmHead,
      String lmHeadName,
      Precision precision) {
    this.precision = Objects.requireNonNull(precision, "precision");
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

    Precision p = precision;
    embedTokens = model.bind("embed_tokens.weight", p, vocab, hidden);
    layers = new Layer[this.config.numHiddenLayers()];
    for (int l = 0; l < layers.length; l++) {
      WeightBinder b = model.scoped("layers." + l);
      layers[l] =
          new Layer(
              b.bind("input_layernorm.weight", hidden),
              b.bind("self_attn.q_proj.weight", p, qOut, hidden),
              bias ? b.bind("self_attn.q_proj.bias", qOut) : null,
              b.bind("self_attn.k_proj.weight", p, kvOut, hidden),
              bias ? b.bind("self_attn.k_proj.bias", kvOut) : null,
              b.bind("self_attn.v_proj.weight", p, kvOut, hidden),
              bias ? b.bind("self_attn.v_proj.bias", kvOut) : null,
              b.bind("self_attn.o_proj.weight", p, hidden, qOut),
              b.bind("post_attention_layernorm.weight", hidden),
              b.bind("mlp.gate_proj.weight", p, inter, hidden),
              b.bind("mlp.up_proj.weight", p, inter, hidden),
              b.bind("mlp.down_proj.weight", p, hidden, inter));
    }
    finalNorm = model.bind("norm.weight", hidden);
    this.lmHead =
        lmHead == null
            ? embedTokens
            : lmHead.bind(Objects.requireNonNull(lmHeadName, "lmHeadName"), p, vocab, hidden);

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
    fast = DecodeSteps.create(this);
    fastPromptRows = p == Precision.F32 ? FAST_PROMPT_ROWS_F32 : FAST_PROMPT_ROWS_16;
  }

  /** The weights as the decode step reads them (views, no copies). */
  DecodeStep decodeStep(int threads) {
    DecodeStep.LayerViews[] views = new DecodeStep.LayerViews[layers.length];
    for (int l = 0; l < layers.length; l++) {
      Layer w = layers[l];
      views[l] =
          new DecodeStep.LayerViews(
              w.inputNorm().toFloatArray(),
              DecodeStep.Mat.of(w.wq()),
              floats(w.bq()),
              DecodeStep.Mat.of(w.wk()),
              floats(w.bk()),
              DecodeStep.Mat.of(w.wv()),
              floats(w.bv()),
              DecodeStep.Mat.of(w.wo()),
              w.postNorm().toFloatArray(),
              DecodeStep.Mat.of(w.wGate()),
              DecodeStep.Mat.of(w.wUp()),
              DecodeStep.Mat.of(w.wDown()));
    }
    return new DecodeStep(
        views,
        DecodeStep.Mat.of(embedTokens),
        DecodeStep.Mat.of(lmHead),
        finalNorm.toFloatArray(),
        ropeCos,
        ropeSinSigned,
        heads,
        kvHeads,
        eps,
        threads);
  }

  /** Whether every weight row has an even length (hidden, attention and intermediate widths). */
  boolean evenRows() {
    return hidden % 2 == 0 && (heads * headDim) % 2 == 0 && config.intermediateSize() % 2 == 0;
  }

  private static float[] floats(NDArray a) {
    return a == null ? null : a.toFloatArray();
  }

  /** How the weight matrices are held. */
  public Precision precision() {
    return precision;
  }

  /** Whether {@link #decodeNext} runs the Vector API step (else the DJL layer). */
  public boolean vectorDecode() {
    return fast != null;
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

  /** Query heads per layer (nH). */
  public int headCount() {
    return heads;
  }

  public int layerCount() {
    return layers.length;
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
      NDArray out = dense(tmp, embedTokens.get(tmp, new NDIndex("{}", idx)));
      out.attach(target);
      return out;
    }
  }

  /** Token embeddings on this model's manager; the caller must close the result. */
  public NDArray embed(int[] ids) {
    return embed(manager, ids);
  }

  // ------------------------------------------------------------------ the three uses

  /**
   * Serving (spec §4.3): runs {@code embeddings} [T, D] (token or spliced embeddings) at positions
   * {@code cache.length() ..} {@code + T - 1}, appends their K/V to the cache and returns the
   * logits of every row, [T, V], on the manager of {@code embeddings}. A full recompute is a
   * forward over the whole sequence with a fresh cache.
   */
  public NDArray forward(NDArray embeddings, KvCache cache) {
    int t = checkCached(embeddings, cache);
    return decode(embeddings, new Pass(cache, null, null), 0, t, null);
  }

  /**
   * As {@link #forward} but returns only the last row's logits, [V] (skips the lm head for other
   * rows). Up to {@link #FAST_PROMPT_ROWS_F32} rows (16-bit weights: {@link #FAST_PROMPT_ROWS_16})
   * run on the Vector API step, equal to the DJL layer's up to fp32 rounding order.
   */
  public NDArray forwardLast(NDArray embeddings, KvCache cache) {
    int t = checkCached(embeddings, cache);
    if (fast != null && t <= fastPromptRows) {
      float[] rows = embeddings.toType(DataType.FLOAT32, false).toFloatArray(); // itself if fp32
      float[] logits = fast.prompt(rows, t, cache);
      return embeddings.getManager().create(logits);
    }
    return decode(embeddings, new Pass(cache, null, null), t - 1, t, new Shape(vocab));
  }

  /**
   * Serving's decode step (spec §4.3, issue 20 point 2): token {@code token} at position {@code
   * cache.length()}, its K/V appended to the cache; returns the logits [V] in an array that belongs
   * to the cache and is overwritten by its next step. With the Vector API step nothing is
   * allocated; the values equal {@link #forwardLast} of the token's embedding up to fp32 rounding
   * order.
   */
  public float[] decodeNext(int token, KvCache cache) {
    Objects.requireNonNull(cache, "cache");
    if (cache.remaining() < 1) {
      throw new IllegalArgumentException(
          "the cache is full: " + cache.length() + " of " + cache.capacity() + " positions");
    }
    if (fast != null) {
      return fast.step(token, cache, cache.scratch(fast));
    }
    try (NDManager step = manager.newSubManager()) {
      return forwardLast(embed(step, new int[] {token}), cache).toFloatArray();
    }
  }

  /**
   * Continuous batching's decode step (issue 22 point 3): {@code tokens[b]} at position {@code
   * caches[b].length()} for every b < n, advanced together, each sequence's K/V appended to its own
   * cache (caches of different lengths, all distinct). {@code logits[b]} receives each sequence's
   * logits [V], in the array {@link #decodeNext} would return for that cache. With the Vector API
   * step each weight row is read once for all n sequences and the logits are bit for bit those of n
   * single steps; without it the sequences are stepped one after another on the DJL layer.
   */
  public void decodeBatch(int[] tokens, KvCache[] caches, int n, float[][] logits) {
    Objects.requireNonNull(tokens, "tokens");
    Objects.requireNonNull(caches, "caches");
    Objects.requireNonNull(logits, "logits");
    if (n < 0 || n > tokens.length || n > caches.length || n > logits.length) {
      throw new IllegalArgumentException(
          "batch of "
              + n
              + " does not fit the given arrays ("
              + tokens.length
              + " tokens, "
              + caches.length
              + " caches, "
              + logits.length
              + " logits)");
    }
    for (int b = 0; b < n; b++) {
      KvCache c = Objects.requireNonNull(caches[b], "caches[" + b + "]");
      if (c.remaining() < 1) {
        throw new IllegalArgumentException(
            "cache " + b + " is full: " + c.length() + " of " + c.capacity() + " positions");
      }
      for (int o = 0; o < b; o++) {
        if (caches[o] == c) {
          throw new IllegalArgumentException("sequences " + o + " and " + b + " share a cache");
        }
      }
    }
    if (fast == null || n == 1) {
      for (int b = 0; b < n; b++) {
        logits[b] = decodeNext(tokens[b], caches[b]);
      }
      return;
    }
    synchronized (fast) { // one batch scratch, reused: steps of one model take turns
      if (batch == null || batch.seqs.length < n) {
        batch = fast.batch(Math.max(n, batch == null ? 8 : 2 * batch.seqs.length));
      }
      fast.step(tokens, caches, n, batch, logits);
    }
  }

  /** The reused scratch of {@link #decodeBatch} (guarded by {@link #fast}). */
  private DecodeStep.Batch batch;

  /**
   * A new cache of {@code capacity} positions holding a copy of the first {@code length} positions
   * of {@code source} (issue 22 point 3: a generation forks a stream's live window and decodes in
   * its own cache while the window keeps taking frames).
   */
  public KvCache copyOf(KvCache source, int length, int capacity) {
    Objects.requireNonNull(source, "source");
    if (length < 0 || length > source.length() || capacity < length) {
      throw new IllegalArgumentException(
          "cannot copy " + length + " of " + source.length() + " positions into " + capacity);
    }
    KvCache c = newCache(capacity);
    try {
      c.copyFrom(source, length);
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
    return c;
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
   * <p>{@link #forward}/{@link #forwardLast} never call a tap and do no extra work. Values equal
   * {@link #forward} with a fresh cache (the same layer code, the same ops in the same order).
   *
   * @param tap called once per layer with A [nH, T, T]; must return an array of the same shape
   * @throws IllegalArgumentException for a misshaped input or a sequence longer than the context
   *     length
   */
  public NDArray forwardTapped(NDArray embeddings, UnaryOperator<NDArray> tap) {
    Objects.requireNonNull(tap, "tap");
    int t = checkUncached(embeddings, 2);
    return decode(embeddings, new Pass(null, tap, null), 0, t, null);
  }

  /**
   * Training (the paper's stages): logits [B, T, V] of every position of {@code x} [B, T, D]
   * (spliced embeddings, right padding is safe under the causal mask), positions 0..T-1, no KV
   * cache (the cache's in-place writes would cut the autograd graph); differentiable when the
   * weights record gradients.
   */
  public NDArray logits(NDArray x) {
    int t = checkUncached(x, 3);
    requireTrainable();
    return decode(x, new Pass(null, null, null), 0, t, null);
  }

  /**
   * As {@link #logits(NDArray)} but the lm head runs on positions {@code from .. to-1} alone:
   * logits [B, to - from, V]. With a {@code trace} (may be null) each layer's attention on the
   * trace's rows is recorded (and their residual stream when it asks).
   */
  public NDArray logits(NDArray x, int from, int to, DecoderTrace trace) {
    int t = checkUncached(x, 3);
    requireTrainable();
    if (from < 0 || to > t || from >= to) {
      throw new IllegalArgumentException(
          "rows " + from + ".." + to + " must lie in 0.." + t + " and not be empty");
    }
    return decode(x, new Pass(null, null, trace), from, to, null);
  }

  /**
   * The lm head read off residual-stream rows [.., D] through the final norm (a "logit lens"): what
   * those rows would predict were they the last layer's output.
   */
  public NDArray lensLogits(NDArray rows) {
    return Linear.linear(rmsNorm(rows, finalNorm), dense(rows.getManager(), lmHead))
        .singletonOrThrow();
  }

  private void requireTrainable() {
    if (precision != Precision.F32) {
      throw new IllegalStateException(
          "a " + precision + " model serves only; train on F32 weights");
    }
  }

  /**
   * A weight matrix as the DJL layer multiplies it: F32 as held, or a F16 or BF16 one widened for
   * this op only (exact: every F16 and BF16 value is an F32 value). The copy is attached to the
   * manager of the op's scope and freed with it.
   */
  private static NDArray dense(NDManager scope, NDArray w) {
    if (w.getDataType() == DataType.FLOAT32) {
      return w;
    }
    if (Bf16.holds(w)) {
      return Bf16.widen(scope, w);
    }
    NDArray wide = w.toType(DataType.FLOAT32, false);
    wide.attach(scope);
    return wide;
  }

  /**
   * Serving's long prefill (issue 20 point 4): runs {@code embeddings} [T, D] at positions {@code
   * cache.length() ..} through the cache in passes of at most {@code chunk} rows. Attention is
   * causal, so this writes the same K/V and gives the same last-row logits as one {@link
   * #forwardLast} over all T rows, while a pass's temporaries (the layer's activations, the
   * attention blocks) scale with {@code chunk} instead of T. Returns the last row's logits, [V], on
   * the manager of {@code embeddings}.
   *
   * @param chunk rows per pass, >= 1 ({@link #DEFAULT_PREFILL_CHUNK} measured best on the model
   *     benchmark's shape)
   */
  public NDArray prefill(NDArray embeddings, KvCache cache, int chunk) {
    int t = checkCached(embeddings, cache);
    if (chunk < 1) {
      throw new IllegalArgumentException("prefill chunk must be >= 1 rows, got " + chunk);
    }
    NDManager caller = embeddings.getManager();
    NDArray last = null;
    for (int from = 0; from < t; from += chunk) {
      int to = Math.min(t, from + chunk);
      try (NDManager step = caller.newSubManager()) {
        NDArray rows =
            from == 0 && to == t
                ? embeddings
                : embeddings.get(step, new NDIndex("{}:{}", from, to));
        NDArray logits = forwardLast(rows, cache);
        // only the K/V of the earlier passes matter: their logits die with the pass
        logits.attach(to == t ? caller : step);
        last = logits;
      }
    }
    return last;
  }

  // ------------------------------------------------------------------ the decoder, once

  /**
   * What one pass reads or writes besides the weights, each null when unused: the KV cache
   * (serving, batch 1), the R-GAE tap on the probabilities (§7.1, batch 1), the training trace.
   */
  private record Pass(KvCache cache, UnaryOperator<NDArray> tap, DecoderTrace trace) {}

  /**
   * Batch B and positions past..past+T-1 of one pass: RoPE rows [T, hd] and, built on first use on
   * the pass's manager, the causal masks (issue 20 point 4: a long pass that attends by query
   * blocks never builds the [T, L] one).
   */
  private record Positions(
      int b, int past, int t, NDArray cos, NDArray sin, NDManager scope, NDArray[] masks) {
    int total() {
      return past + t;
    }

    /** The causal mask [T, L] (spec §4.2, with cache offset), or null for a single new token. */
    NDArray mask() {
      if (t == 1) {
        return null; // a single new token sees all
      }
      if (masks[0] == null) {
        masks[0] = causalMask(scope, t, total());
      }
      return masks[0];
    }

    /**
     * The mask of the query blocks, [rows, L]: row r masks key c iff {@code c > L - rows + r}. A
     * block of n <= rows queries ending at position e - 1 (reading keys 0..e-1) takes the slice of
     * its last n rows and last e columns, which masks exactly the keys after each query.
     */
    NDArray blockMask(int rows) {
      if (masks[1] == null || masks[1].getShape().get(0) != rows) {
        masks[1] = causalMask(scope, rows, total());
      }
      return masks[1];
    }
  }

  /**
   * {@code [rows, cols]} additive mask: row r (the query at position {@code cols - rows + r}) masks
   * every key after it with {@link #MASK_VALUE}.
   */
  private static NDArray causalMask(NDManager m, int rows, int cols) {
    NDArray r = m.arange(cols - rows, cols, 1, DataType.INT64).reshape(rows, 1);
    NDArray c = m.arange(0, cols, 1, DataType.INT64).reshape(1, cols);
    return c.gt(r).toType(DataType.FLOAT32, false).mul(MASK_VALUE);
  }

  /**
   * The Llama forward of spec §4.2 over {@code x} [B, T, D] (or [T, D], batch 1) at positions
   * past..past+T-1, past being the cache's length (0 without one): every layer, the final RMSNorm,
   * and the lm head on rows {@code from .. to-1} only. Returns [B, to - from, V] ([to - from, V]
   * for [T, D] input), reshaped to {@code out} when given, on the manager of {@code x}. Serving's
   * batch 1 runs exactly the ops it always ran: no reshape of the input, 2-D projections.
   */
  private NDArray decode(NDArray x, Pass pass, int from, int to, Shape out) {
    int rank = x.getShape().dimension();
    int b = rank == 3 ? Math.toIntExact(x.getShape().get(0)) : 1;
    int t = Math.toIntExact(x.getShape().get(rank - 2));
    int past = pass.cache() == null ? 0 : pass.cache().length();
    NDManager caller = x.getManager();
    try (NDManager step = caller.newSubManager()) {
      step.tempAttachAll(x);
      Positions at = positions(step, b, past, t);
      // the residual stream as [B*T, D] rows, batch-major: for batch 1 it is the input itself
      NDArray h = rank == 3 ? x.reshape((long) b * t, hidden) : x;
      for (int l = 0; l < layers.length; l++) {
        if (pass.trace() != null) {
          pass.trace().recordResidual(h.reshape(b, t, hidden)); // the input of layer l
        }
        NDArray next;
        try (NDManager ls = step.newSubManager()) { // the layer's temporaries die with it
          next = layer(ls, l, h, pass, at);
          next.attach(step);
        }
        if (h != x) {
          h.close();
        }
        h = next;
      }
      if (pass.trace() != null) {
        pass.trace().recordResidual(h.reshape(b, t, hidden)); // the last layer's output
      }
      if (pass.cache() != null) {
        pass.cache().advance(t);
      }
      if (rank == 3) {
        h = h.reshape(b, t, hidden);
      }
      if (from > 0 || to < t) { // the lm head only where it is read
        h = h.get(step, new NDIndex(rank == 3 ? ":, {}:{}" : "{}:{}", from, to));
      }
      NDArray logits = Linear.linear(rmsNorm(h, finalNorm), dense(step, lmHead)).singletonOrThrow();
      if (out != null) {
        logits = logits.reshape(out);
      }
      logits.attach(caller);
      return logits;
    }
  }

  private Positions positions(NDManager step, int b, int past, int t) {
    int total = past + t;
    // RoPE rows of these positions, [T, hd], broadcast over batch and heads
    NDArray cos = ropeCos.get(step, new NDIndex("{}:{}", past, total));
    NDArray sin = ropeSinSigned.get(step, new NDIndex("{}:{}", past, total));
    // causal mask with cache offset (spec §4.2): query t sees keys 0..past+t; built when a layer
    // first asks, in the shape its attention needs
    return new Positions(b, past, t, cos, sin, step, new NDArray[2]);
  }

  /**
   * One decoder layer on h [B*T, D] (spec §4.2): {@code h += o_proj(attn(RoPE(q), RoPE(k), v))} on
   * the RMS-normalised input, then {@code h += down(silu(gate(x)) * up(x))} on the RMS-normalised
   * result.
   */
  private NDArray layer(NDManager ls, int l, NDArray h, Pass pass, Positions at) {
    ls.tempAttachAll(h);
    Layer w = layers[l];
    int b = at.b();
    int t = at.t();
    // --- self-attention block
    NDArray x = rmsNorm(h, w.inputNorm());
    NDArray q =
        linear(x, dense(ls, w.wq()), w.bq())
            .reshape(b, t, heads, headDim)
            .transpose(0, 2, 1, 3); // [B, nH, T, hd]
    NDArray k =
        linear(x, dense(ls, w.wk()), w.bk())
            .reshape(b, t, kvHeads, headDim)
            .transpose(0, 2, 1, 3); // [B, nKV, T, hd]
    NDArray v =
        linear(x, dense(ls, w.wv()), w.bv()).reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3);
    NDArray o = attention(ls, l, rope(q, at), rope(k, at), v, pass, at); // [B*T, nH*hd]
    h = h.add(Linear.linear(o, dense(ls, w.wo())).singletonOrThrow());
    // --- MLP block: down(silu(gate(x)) * up(x)), no biases
    x = rmsNorm(h, w.postNorm());
    NDArray gate = Linear.linear(x, dense(ls, w.wGate())).singletonOrThrow();
    NDArray up = Linear.linear(x, dense(ls, w.wUp())).singletonOrThrow();
    NDArray act = gate.mul(Activation.sigmoid(gate)).mul(up);
    return h.add(Linear.linear(act, dense(ls, w.wDown())).singletonOrThrow());
  }

  /**
   * Attention with fp32 softmax (spec §0: written out, no SDPA) on post-RoPE q [B, nH, T, hd], k
   * and v [B, nKV, T, hd]; returns [B*T, nH*hd]. With a cache (spec §4.3) k and v are written at
   * positions past..past+T-1 and the keys 0..past+T-1 are read back; without one (training, R-GAE
   * §7.1) the keys are this pass's own. GQA without repeat_kv: the rep query heads of KV head g are
   * stacked into one [rep*T, hd] matrix, the same dot products as repeating K and V.
   */
  private NDArray attention(
      NDManager ls, int l, NDArray q, NDArray k, NDArray v, Pass pass, Positions at) {
    int b = at.b();
    int t = at.t();
    int total = at.total();
    int rep = heads / kvHeads;
    NDArray keys = k;
    NDArray values = v;
    if (pass.cache() != null) {
      NDIndex slot = new NDIndex(":, :, {}:{}, :", at.past(), total);
      pass.cache().keys(l).set(slot, k); // in place, post-RoPE
      pass.cache().values(l).set(slot, v);
      NDIndex upTo = new NDIndex(":, :, 0:{}, :", total);
      keys = pass.cache().keys(l).get(ls, upTo); // [1, nKV, L, hd]
      values = pass.cache().values(l).get(ls, upTo);
    }
    if (t > 1 && pass.tap() == null && pass.trace() == null) {
      return blockedAttention(ls, q, keys, values, at);
    }
    NDArray qg = q.reshape(b, kvHeads, (long) rep * t, headDim); // head g*rep+r = kv group g
    NDArray scores =
        Scalars.div(qg.matMul(keys.transpose(0, 1, 3, 2)), attnScale); // [B, nKV, rep*T, L]
    if (at.mask() != null) {
      scores =
          scores
              .reshape(b, kvHeads, rep, t, total)
              .add(at.mask())
              .reshape(b, kvHeads, (long) rep * t, total);
    }
    NDArray probs = watched(scores.softmax(-1), pass, b, t, total); // fp32 softmax (spec §0)
    return probs
        .matMul(values) // [B, nKV, rep*T, hd]
        .reshape(b, heads, t, headDim)
        .transpose(0, 2, 1, 3)
        .reshape((long) b * t, (long) heads * headDim);
  }

  /**
   * Causal attention by query blocks (issue 20 point 4), for passes whose probabilities nobody
   * reads (no tap, no trace): the queries are taken {@link #blockRows} rows at a time, and a block
   * ending at position e - 1 scores only the keys 0..e-1 (the keys after its last row would all be
   * masked), so no array is larger than [B, nH, block, L] and the causal half of QK^T that the full
   * path computes and masks away is skipped. Each block's temporaries are released before the next.
   * The same products as {@link #attention}'s full path up to fp32 rounding (the scale is applied
   * to q, exact for a power-of-two sqrt(hd)), and differentiable (slices, matMul, softmax, concat).
   */
  private NDArray blockedAttention(
      NDManager ls, NDArray q, NDArray keys, NDArray values, Positions at) {
    int b = at.b();
    int t = at.t();
    int past = at.past();
    int rep = heads / kvHeads;
    int rows = Math.min(blockRows(), t);
    NDArray mask = at.blockMask(rows);
    NDArray scaled = Scalars.div(q, attnScale); // [B, nH, T, hd]: T*hd divisions, not T*L
    NDList out = new NDList((t + rows - 1) / rows);
    for (int from = 0; from < t; from += rows) {
      int to = Math.min(t, from + rows);
      int n = to - from;
      int seen = past + to; // keys 0..seen-1
      try (NDManager bm = ls.newSubManager()) {
        NDArray qb =
            scaled
                .get(bm, new NDIndex(":, :, {}:{}, :", from, to))
                .reshape(b, kvHeads, (long) rep * n, headDim); // head g*rep+r = kv group g
        NDArray kb = keys.get(bm, new NDIndex(":, :, 0:{}, :", seen));
        NDArray vb = values.get(bm, new NDIndex(":, :, 0:{}, :", seen));
        NDArray blockMask =
            mask.get(bm, new NDIndex("{}:, {}:", rows - n, at.total() - seen)); // [n, seen]
        // at most two [B, nH, n, seen] arrays live at once: the mask is added in place (autograd
        // allows it, the product's backward does not read its output) and each is closed once read
        NDArray product = qb.matMul(kb.transpose(0, 1, 3, 2)); // [B, nKV, rep*n, seen]
        NDArray scores = product.reshape(b, kvHeads, rep, n, seen);
        product.close();
        scores.addi(blockMask);
        NDArray probs = scores.softmax(-1); // fp32 softmax (spec §0)
        scores.close();
        NDArray o =
            probs
                .reshape(b, kvHeads, (long) rep * n, seen)
                .matMul(vb) // [B, nKV, rep*n, hd]
                .reshape(b, heads, n, headDim)
                .transpose(0, 2, 1, 3)
                .reshape(b, n, (long) heads * headDim);
        o.attach(ls);
        out.add(o);
      }
    }
    NDArray o = out.size() == 1 ? out.get(0) : NDArrays.concat(out, 1);
    return o.reshape((long) b * t, (long) heads * headDim);
  }

  /**
   * The probabilities as the pass sees them: recorded on the trace (per query head, [B, nH, T, L])
   * and, with an R-GAE tap (§7.1, batch 1), replaced by what the tap returns for [nH, T, L].
   */
  private NDArray watched(NDArray probs, Pass pass, long b, int t, int total) {
    if (pass.trace() != null) {
      pass.trace().recordAttention(probs.reshape(b, heads, t, total));
    }
    if (pass.tap() == null) {
      return probs;
    }
    Shape perHead = new Shape(heads, t, total);
    NDArray tapped = pass.tap().apply(probs.reshape(perHead));
    if (tapped == null || !tapped.getShape().equals(perHead)) {
      throw new IllegalStateException(
          "attention tap must return an array of shape "
              + perHead
              + ", got "
              + (tapped == null ? "null" : tapped.getShape()));
    }
    return tapped.reshape(b, kvHeads, (long) (heads / kvHeads) * t, total);
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
   * RoPE), x [B, heads, T, hd].
   */
  private static NDArray rope(NDArray x, Positions at) {
    NDList halves = x.split(2, 3);
    NDArray swapped = halves.get(1).concat(halves.get(0), 3);
    return x.mul(at.cos()).add(swapped.mul(at.sin()));
  }

  // ------------------------------------------------------------------ input checks

  /** Rows T of serving input [T, D] that must fit the cache. */
  private int checkCached(NDArray x, KvCache cache) {
    int t = checkShape(x, 2);
    Objects.requireNonNull(cache, "cache");
    if (t > cache.remaining()) {
      throw new IllegalArgumentException(
          "sequence too long: "
              + cache.length()
              + " cached + "
              + t
              + " new positions exceed the"
              + " cache capacity "
              + cache.capacity()
              + " (context length "
              + contextLength()
              + ")");
    }
    return t;
  }

  /** Rows T of a cache-free pass's input ([T, D] or [B, T, D]) at positions 0..T-1. */
  private int checkUncached(NDArray x, int rank) {
    int t = checkShape(x, rank);
    if (t > contextLength()) {
      throw new IllegalArgumentException(
          "sequence of " + t + " positions exceeds the context length " + contextLength());
    }
    return t;
  }

  private int checkShape(NDArray x, int rank) {
    Objects.requireNonNull(x, "embeddings");
    Shape s = x.getShape();
    if (s.dimension() != rank || s.get(rank - 1) != hidden || s.get(0) < 1 || s.get(rank - 2) < 1) {
      throw new IllegalArgumentException(
          "embeddings must be "
              + (rank == 2 ? "[T, " : "[B, T, ")
              + hidden
              + "] with "
              + (rank == 2 ? "" : "B, ")
              + "T >= 1, got "
              + s);
    }
    if (x.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException("embeddings must be FLOAT32, got " + x.getDataType());
    }
    return Math.toIntExact(s.get(rank - 2));
  }

  private static NDArray linear(NDArray x, NDArray w, NDArray b) {
    return (b == null ? Linear.linear(x, w) : Linear.linear(x, w, b)).singletonOrThrow();
  }

  /**
   * Sets the rows up to which {@link #forwardLast} runs on the Vector API step, 0 for never (tests
   * and tuning; call before the model is shared).
   */
  void fastPromptRows(int rows) {
    fastPromptRows = rows;
  }

  /**
   * Sets the query rows per attention block, or 0 for the default (tests and tuning; call before
   * the model is shared).
   */
  void attentionBlock(int rows) {
    if (rows < 0) {
      throw new IllegalArgumentException("attention block must be >= 0 rows, got " + rows);
    }
    attentionBlock = rows;
  }

  /** Query rows per attention block. */
  int blockRows() {
    if (attentionBlock > 0) {
      return attentionBlock;
    }
    return DEFAULT_ATTENTION_BLOCK;
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
