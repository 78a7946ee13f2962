package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.decostream.nn.weights.Bf16;

/**
 * One token through the Llama decoder with a KV cache (spec §4.2–§4.3 for T = 1; issue 20 points 2
 * and 3): the same layer as {@link LlamaModel}'s, computed in place on preallocated fp32 vectors
 * with the Java Vector API instead of ~25 native ops per layer. The weights, the RoPE tables and
 * the cache are read (and the cache written) where libtorch holds them, through direct views, so
 * the prefill that filled the cache and this step share it.
 *
 * <p>Per layer five parallel regions over rows: q/k/v; attention over heads; o_proj into the
 * residual; gate/up with SiLU; down into the residual. Then the final norm and the lm head. Every
 * buffer belongs to a {@link Scratch} made once per cache: a step allocates nothing.
 */
final class DecodeStep {

  /** How a viewed matrix holds its weights. */
  enum Format {
    F32,
    F16,
    BF16;

    /** Whether its products take the input split into even and odd elements. */
    boolean halves() {
      return this != F32;
    }
  }

  /** A weight matrix [rows, cols] viewed in place: fp32, F16, or BF16 held as its bytes. */
  record Mat(NativeView buf, int rows, int cols, Format format) {
    static Mat of(NDArray a) {
      long[] s = a.getShape().getShape();
      Format f;
      if (a.getDataType() == DataType.FLOAT32) {
        f = Format.F32;
      } else if (a.getDataType() == DataType.FLOAT16) {
        f = Format.F16;
      } else if (Bf16.holds(a)) {
        f = Format.BF16;
        s = Bf16.valueShape(a);
      } else {
        throw new IllegalArgumentException(
            "decode reads FLOAT32, FLOAT16 or BF16 bytes, got "
                + a.getDataType()
                + " "
                + a.getShape());
      }
      int rows = Math.toIntExact(s[0]);
      int cols = s.length == 1 ? 1 : Math.toIntExact(s[1]);
      return new Mat(NativeView.of(a), rows, cols, f);
    }

    boolean halves() {
      return format.halves();
    }

    /** Row r · x (x given whole and, for 16-bit rows, split into even and odd elements). */
    float dot(int r, Vec x) {
      return switch (format) {
        case F32 -> DecodeKernels.dotF32(buf, r, cols, x.v);
        case F16 -> DecodeKernels.dotF16(buf, r, cols, x.even, x.odd);
        case BF16 -> DecodeKernels.dotBF16(buf, r, cols, x.even, x.odd);
      };
    }

    /**
     * The rows of slot {@code slot} (see {@link #slots}) · x, into {@code out} at their row
     * indices, each bit for bit {@link #dot}'s; returns how many rows the slot has (4 or 1), which
     * {@link #row} names.
     */
    int dotSlot(int slot, Vec x, float[] out) {
      int q = rows / 4;
      if (slot >= q) {
        int r = row(slot, 0);
        out[r] = dot(r, x);
        return 1;
      }
      switch (format) {
        case F32 -> DecodeKernels.dotF32Quad(buf, slot, q, cols, x.v, out);
        case F16 -> DecodeKernels.dotF16Quad(buf, slot, q, cols, x.even, x.odd, out);
        case BF16 -> DecodeKernels.dotBF16Quad(buf, slot, q, cols, x.even, x.odd, out);
      }
      return 4;
    }

    /**
     * As {@link #dotSlot} for four inputs (a prompt's rows): an fp32 quad reads each weight once
     * for all four ({@link DecodeKernels#dotF32QuadX4}), a BF16 quad reads and widens it once for
     * two ({@link DecodeKernels#dotBF16QuadX2}); F16 quads and the last rows%4 take the inputs one
     * at a time. Returns the rows written.
     */
    int dotSlotX4(
        int slot, Vec x0, Vec x1, Vec x2, Vec x3, float[] o0, float[] o1, float[] o2, float[] o3) {
      int q = rows / 4;
      if (slot >= q || format == Format.F16) {
        dotSlot(slot, x0, o0);
        dotSlot(slot, x1, o1);
        dotSlot(slot, x2, o2);
        return dotSlot(slot, x3, o3);
      }
      if (format == Format.F32) {
        DecodeKernels.dotF32QuadX4(buf, slot, q, cols, x0.v, x1.v, x2.v, x3.v, o0, o1, o2, o3);
      } else {
        DecodeKernels.dotBF16QuadX2(buf, slot, q, cols, x0.even, x0.odd, x1.even, x1.odd, o0, o1);
        DecodeKernels.dotBF16QuadX2(buf, slot, q, cols, x2.even, x2.odd, x3.even, x3.odd, o2, o3);
      }
      return 4;
    }

    /** Rows of slot {@code slot}: four for a quad, one for each of the last rows%4. */
    int slotRows(int slot) {
      return slot < rows / 4 ? 4 : 1;
    }

    /** Row j of slot {@code slot}: slot + j·rows/4 for a quad, else one of the last rows%4. */
    int row(int slot, int j) {
      int q = rows / 4;
      return slot < q ? slot + j * q : 3 * q + slot;
    }

    /**
     * The units a product is split into: slot s < rows/4 is rows s, s + rows/4, s + rows/2 and s +
     * 3rows/4 in one pass, each x load serving four streams far apart; the last rows%4 rows are a
     * slot each. Four streams a thread read 14-27% more from memory than two (docs/design.md);
     * adjacent rows, their streams interleaved, halved what one thread read.
     */
    int slots() {
      return rows / 4 + rows % 4;
    }

    float at(int i) {
      return switch (format) {
        case F32 -> buf.getFloat(i * 4);
        case F16 -> DecodeKernels.half(buf.getShort(i * 2));
        case BF16 -> DecodeKernels.bf16(buf.getShort(i * 2));
      };
    }
  }

  /** An input vector of matrix products, with its even/odd split kept for 16-bit rows. */
  static final class Vec {
    final float[] v;
    final float[] even;
    final float[] odd;

    Vec(int n) {
      v = new float[n];
      even = new float[(n + 1) / 2];
      odd = new float[(n + 1) / 2];
    }

    /** Refreshes the even/odd split after v changed (only 16-bit products read it). */
    void split(boolean needed) {
      if (needed) {
        DecodeKernels.deinterleave(v, v.length, even, odd);
      }
    }
  }

  /** One layer's weights as views (HF names in {@link LlamaModel}'s Layer). */
  record LayerViews(
      float[] inputNorm,
      Mat wq,
      float[] bq,
      Mat wk,
      float[] bk,
      Mat wv,
      float[] bv,
      Mat wo,
      float[] postNorm,
      Mat wGate,
      Mat wUp,
      Mat wDown) {}

  /** The vectors of one sequence's steps, made once with its cache. */
  static final class Scratch {
    final Vec x; // residual stream [D]
    final Vec xb; // normalised input of a block [D]
    final float[] q; // [nH*hd]
    final float[] k; // [nKV*hd]
    final float[] v; // [nKV*hd]
    final Vec att; // attention output [nH*hd]
    final float[] scores; // [nH, capacity]
    final Vec hb; // silu(gate) * up [I]
    final float[] sums; // a product's rows before they are added in (o, down) or gated (up)
    final float[] logits; // [V]
    final NativeView[] keys;
    final NativeView[] values;
    final int capacity;
    // the step's position (the cache length before the step)
    int pos;

    /** This sequence alone as a batch of one: the single-sequence step (made once). */
    final Batch alone;

    final int[] oneToken = new int[1];

    Scratch(DecodeStep d, KvCache cache) {
      this(d, cache, null);
    }

    /**
     * A sequence's vectors. A prompt row of the sequence whose step scratch is {@code step} gets no
     * logits and no scores of its own (its batch attends with {@link Batch#laneScores}) and shares
     * that scratch's views of the cache.
     */
    Scratch(DecodeStep d, KvCache cache, Scratch step) {
      boolean logits = step == null;
      x = new Vec(d.hidden);
      xb = new Vec(d.hidden);
      q = new float[d.heads * d.headDim];
      k = new float[d.kvHeads * d.headDim];
      v = new float[d.kvHeads * d.headDim];
      att = new Vec(d.heads * d.headDim);
      scores = new float[logits ? d.heads * cache.capacity() : 0];
      hb = new Vec(d.inter);
      sums = new float[Math.max(d.hidden, d.inter)];
      this.logits = new float[logits ? d.vocab : 0];
      if (step != null) {
        keys = step.keys;
        values = step.values;
      } else {
        keys = new NativeView[d.layers.length];
        values = new NativeView[d.layers.length];
        for (int l = 0; l < keys.length; l++) {
          keys[l] = NativeView.of(cache.keys(l));
          values[l] = NativeView.of(cache.values(l));
        }
      }
      capacity = cache.capacity();
      alone = new Batch(d, 1);
      alone.seqs[0] = this;
      alone.n = 1;
    }
  }

  /**
   * Sequences advanced one token together (issue 22 point 3): each matrix row is read once per step
   * and dotted with every sequence's vector while it is in cache, so B sequences cost about one
   * sequence's weight traffic. Each product is the same kernel call on the same vectors as the
   * single step, so every sequence's logits are bit for bit those of stepping it alone. Attention
   * runs per sequence over its own cache. Made once and reused: a step allocates nothing.
   */
  static final class Batch {
    final Scratch[] seqs;
    int n;
    LayerViews w;
    int layer;
    final RowPool.Rows qkv;
    final RowPool.Rows attend;
    final RowPool.Rows oProj;
    final RowPool.Rows gateUp;
    final RowPool.Rows down;
    final RowPool.Rows lmHead;

    /**
     * A prompt's batch ({@link #promptRows}) attends with its rows in vector lanes ({@link
     * DecodeKernels#attendLanes}), one (lane group, head) item at a time on each thread of the
     * pool: per thread ({@link RowPool#participant}), q transposed [hd, L], the scores [capacity +
     * 1, L] (the last row: the sums) and the output [hd, L]. Null in a batch of sequences.
     */
    final float[][] laneQ;

    final float[][] laneScores;
    final float[][] laneOut;
    final RowPool.Rows attendLanes;

    /**
     * A prompt's batch, whose rows take products four at a time ({@link Mat#dotSlotX4}); a batch of
     * sequences takes them one at a time, so each sequence gets the bits it gets alone.
     */
    boolean prompt() {
      return laneQ != null;
    }

    Batch(DecodeStep d, int capacity) {
      this(d, capacity, 0);
    }

    /** With {@code cacheCapacity} > 0: a prompt's batch of rows of one cache that long. */
    Batch(DecodeStep d, int capacity, int cacheCapacity) {
      seqs = new Scratch[capacity];
      if (cacheCapacity > 0) {
        int lanes = DecodeKernels.LANES;
        int threads = d.pool.threads();
        laneQ = new float[threads][d.headDim * lanes];
        laneOut = new float[threads][d.headDim * lanes];
        laneScores = new float[threads][(cacheCapacity + 1) * lanes];
        attendLanes = (a, b) -> d.attendLanes(this, a, b);
      } else {
        laneQ = null;
        laneOut = null;
        laneScores = null;
        attendLanes = null;
      }
      qkv = (a, b) -> d.qkv(this, a, b);
      attend = (a, b) -> d.attend(this, a, b);
      oProj = (a, b) -> oProj(this, a, b);
      gateUp = (a, b) -> gateUp(this, a, b);
      down = (a, b) -> down(this, a, b);
      lmHead = (a, b) -> d.lmHead(this, a, b);
    }
  }

  private final LayerViews[] layers;
  private final Mat embed;
  private final Mat lmHead;
  private final float[] finalNorm;
  private final NativeView ropeCos;
  private final NativeView ropeSin;
  private final int hidden;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final int inter;
  private final int vocab;
  private final float eps;
  private final float attnScale;
  private final RowPool pool;

  DecodeStep(
      LayerViews[] layers,
      Mat embed,
      Mat lmHead,
      float[] finalNorm,
      NDArray ropeCos,
      NDArray ropeSinSigned,
      int heads,
      int kvHeads,
      float eps,
      int threads) {
    this.layers = layers;
    this.embed = embed;
    this.lmHead = lmHead;
    this.finalNorm = finalNorm;
    this.ropeCos = NativeView.of(ropeCos);
    this.ropeSin = NativeView.of(ropeSinSigned);
    this.hidden = embed.cols();
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.headDim = layers[0].wq().rows() / heads;
    this.inter = layers[0].wGate().rows();
    this.vocab = lmHead.rows();
    this.eps = eps;
    this.attnScale = (float) Math.sqrt(headDim);
    this.pool = RowPool.shared(threads);
  }

  Scratch scratch(KvCache cache) {
    return new Scratch(this, cache);
  }

  /** A reusable batch of up to {@code capacity} sequences. */
  Batch batch(int capacity) {
    return new Batch(this, capacity);
  }

  /**
   * A prompt's lane group of at most this many rows (a question's last rows past a multiple of
   * {@link DecodeKernels#LANES}, or a prompt that short) attends row by row, as a decoded token
   * does: a lane group costs the same per key whatever its rows, and one row costs about a fifth of
   * it. For a 20-row question (16 + 4) after 4608 keys on the model benchmark's shape, fp32: 117
   * against 130 ms; after 1152 keys 76 against 80; break-even at 6 rows (a scratch harness
   * alternating both ways in one process, medians of 9).
   */
  static final int ROW_TAIL = 5;

  /**
   * Rows a prompt pass takes at once ({@link #prompt}): each batch of rows reads every weight once.
   * A row keeps the vectors of a step (no logits, no scores of its own).
   */
  static final int PROMPT_ROWS = 32;

  /** The rows of {@link #prompt} on {@code cache}: made once per cache, reused by every call. */
  Batch promptRows(KvCache cache) {
    Batch b = new Batch(this, PROMPT_ROWS, cache.capacity());
    Scratch step = cache.scratch(this);
    for (int i = 0; i < PROMPT_ROWS; i++) {
      b.seqs[i] = new Scratch(this, cache, step);
    }
    return b;
  }

  /**
   * A short prompt (spec §4.3 for T > 1, issue 20 point 1: a question after its live window):
   * {@code count} rows of {@code rows} ([count, D], row-major embeddings) at positions {@code
   * cache.length() ..}, their K/V appended; returns the last row's logits in the cache's step array
   * ({@link #step}'s, valid until its next step). Up to {@link #PROMPT_ROWS} rows go through each
   * layer together as one batch, so a weight row is read once per chunk, not once per token. Causal
   * attention holds because a layer writes every row's K/V before any row attends: row b sees the
   * cache and the rows before it. Only the last row reaches the lm head.
   */
  float[] prompt(float[] rows, int count, KvCache cache) {
    Batch p = cache.promptRows(this);
    Scratch last = null;
    for (int at = 0; at < count; at += p.seqs.length) {
      int n = Math.min(p.seqs.length, count - at);
      for (int b = 0; b < n; b++) {
        Scratch s = p.seqs[b];
        s.pos = cache.length() + b;
        System.arraycopy(rows, (at + b) * hidden, s.x.v, 0, hidden);
      }
      p.n = n;
      for (int l = 0; l < layers.length; l++) {
        layer(l, p);
      }
      cache.advance(n);
      last = p.seqs[n - 1];
    }
    p.n = 0;
    Scratch out = cache.scratch(this);
    System.arraycopy(last.x.v, 0, out.x.v, 0, hidden);
    head(out.alone);
    return out.logits;
  }

  int vocab() {
    return vocab;
  }

  /**
   * Token {@code token} at position {@code cache.length()}: appends its K/V to the cache and
   * returns the logits [V] in the scratch's own array (valid until the next step).
   */
  float[] step(int token, KvCache cache, Scratch s) {
    checkToken(token);
    s.pos = cache.length();
    s.oneToken[0] = token;
    run(s.alone, s.oneToken, 0);
    cache.advance(1);
    return s.logits;
  }

  /**
   * Tokens {@code tokens[b]} at positions {@code caches[b].length()} for b < n, one step together
   * (issue 22 point 3); {@code logits[b]} receives each cache's own logits array. The caches must
   * be distinct (each is written at its own position).
   */
  void step(int[] tokens, KvCache[] caches, int n, Batch batch, float[][] logits) {
    if (n > batch.seqs.length) {
      throw new IllegalArgumentException(n + " sequences exceed the batch's " + batch.seqs.length);
    }
    for (int b = 0; b < n; b++) {
      checkToken(tokens[b]);
      for (int c = 0; c < b; c++) {
        if (caches[c] == caches[b]) {
          throw new IllegalArgumentException("sequences " + c + " and " + b + " share a cache");
        }
      }
      Scratch s = caches[b].scratch(this);
      s.pos = caches[b].length();
      batch.seqs[b] = s;
    }
    batch.n = n;
    run(batch, tokens, 0);
    for (int b = 0; b < n; b++) {
      caches[b].advance(1);
      logits[b] = batch.seqs[b].logits;
      batch.seqs[b] = null;
    }
    batch.n = 0;
  }

  private void checkToken(int token) {
    if (token < 0 || token >= vocab) {
      throw new IllegalArgumentException("token id " + token + " is outside [0, " + vocab + ")");
    }
  }

  /** The layers and the lm head for every sequence of {@code batch} (tokens from {@code at}). */
  private void run(Batch batch, int[] tokens, int at) {
    for (int b = 0; b < batch.n; b++) {
      Scratch s = batch.seqs[b];
      int token = tokens[at + b];
      for (int i = 0; i < hidden; i++) {
        s.x.v[i] = embed.at(token * hidden + i); // embed_tokens[token]
      }
    }
    for (int l = 0; l < layers.length; l++) {
      layer(l, batch);
    }
    head(batch);
  }

  /** The final norm, then the lm head, for every sequence of {@code batch}. */
  private void head(Batch batch) {
    for (int b = 0; b < batch.n; b++) {
      Scratch s = batch.seqs[b];
      rmsNorm(s.x.v, finalNorm, s.xb, lmHead.halves());
    }
    pool.run(lmHead.slots(), batch.lmHead);
  }

  /** Spec §4.2 for one position: attention block, then MLP block, each on the normalised input. */
  private void layer(int l, Batch batch) {
    LayerViews w = layers[l];
    batch.layer = l;
    batch.w = w;
    int n = batch.n;
    // --- self-attention: q, k, v of the normalised input; RoPE on q and k; cache write
    for (int b = 0; b < n; b++) {
      Scratch s = batch.seqs[b];
      rmsNorm(s.x.v, w.inputNorm(), s.xb, w.wq().halves());
    }
    pool.run(w.wq().slots() + w.wk().slots() + w.wv().slots(), batch.qkv);
    for (int b = 0; b < n; b++) {
      Scratch s = batch.seqs[b];
      int pos = s.pos;
      rope(s.q, heads, pos);
      rope(s.k, kvHeads, pos);
      int cap = s.capacity;
      for (int g = 0; g < kvHeads; g++) { // [1, nKV, capacity, hd] at position pos
        int at = ((g * cap) + pos) * headDim * 4;
        for (int i = 0; i < headDim; i++) {
          s.keys[l].putFloat(at + i * 4, s.k[g * headDim + i]);
          s.values[l].putFloat(at + i * 4, s.v[g * headDim + i]);
        }
      }
    }
    if (batch.attendLanes != null) {
      int groups = (n + DecodeKernels.LANES - 1) / DecodeKernels.LANES;
      pool.run(groups * heads, batch.attendLanes);
    } else {
      pool.run(n * heads, batch.attend);
    }
    for (int b = 0; b < n; b++) {
      batch.seqs[b].att.split(w.wo().halves());
    }
    pool.run(w.wo().slots(), batch.oProj); // h += o_proj(attn)
    // --- MLP: h += down(silu(gate(x)) * up(x))
    for (int b = 0; b < n; b++) {
      Scratch s = batch.seqs[b];
      rmsNorm(s.x.v, w.postNorm(), s.xb, w.wGate().halves());
    }
    pool.run(w.wGate().slots() + w.wUp().slots(), batch.gateUp); // hb = gate(x), sums = up(x)
    for (int b = 0; b < n; b++) {
      Scratch s = batch.seqs[b];
      DecodeKernels.siluTimes(s.hb.v, s.sums, s.hb.v.length); // hb = silu(gate) * up
      s.hb.split(w.wDown().halves());
    }
    pool.run(w.wDown().slots(), batch.down);
  }

  private void qkv(Batch batch, int from, int to) {
    LayerViews w = batch.w;
    int sq = w.wq().slots();
    int sk = w.wk().slots();
    project(batch, w.wq(), w.bq(), Q, Math.max(from, 0), Math.min(to, sq), 0);
    project(batch, w.wk(), w.bk(), K, Math.max(from, sq), Math.min(to, sq + sk), sq);
    project(batch, w.wv(), w.bv(), V, Math.max(from, sq + sk), to, sq + sk);
  }

  // what a product reads (a sequence's vectors) ...
  private static final int XB = 0;
  private static final int ATT = 1;
  private static final int HB = 2;

  // ... and writes
  private static final int Q = 0;
  private static final int K = 1;
  private static final int V = 2;
  private static final int GATE = 3; // hb's array
  private static final int SUMS = 4;

  /**
   * Slots from..to-1 of the fused q/k/v range, whose slots for {@code m} start at {@code offset},
   * into each sequence's q, k or v.
   */
  private static void project(
      Batch batch, Mat m, float[] bias, int which, int from, int to, int offset) {
    int n = batch.n;
    for (int slot = from - offset; slot < to - offset; slot++) {
      for (int b = 0; b < n; ) {
        int g = products(batch, m, slot, b, XB, which);
        for (int k = b; bias != null && k < b + g; k++) {
          float[] out = output(batch.seqs[k], which);
          for (int j = 0; j < m.slotRows(slot); j++) {
            int r = m.row(slot, j);
            out[r] += bias[r];
          }
        }
        b += g;
      }
    }
  }

  /**
   * Slot {@code slot} of {@code m} times the input {@code in} of the batch's sequences from {@code
   * b}, into their output {@code out}: four of a prompt's rows at once ({@link Mat#dotSlotX4}),
   * else one sequence, so that a decoded token gets the same bits alone or batched. Returns the
   * sequences taken.
   */
  private static int products(Batch batch, Mat m, int slot, int b, int in, int out) {
    Scratch[] q = batch.seqs;
    if (batch.prompt() && b + 4 <= batch.n) {
      m.dotSlotX4(
          slot,
          input(q[b], in),
          input(q[b + 1], in),
          input(q[b + 2], in),
          input(q[b + 3], in),
          output(q[b], out),
          output(q[b + 1], out),
          output(q[b + 2], out),
          output(q[b + 3], out));
      return 4;
    }
    m.dotSlot(slot, input(q[b], in), output(q[b], out));
    return 1;
  }

  private static Vec input(Scratch s, int in) {
    return in == XB ? s.xb : in == ATT ? s.att : s.hb;
  }

  private static float[] output(Scratch s, int out) {
    return switch (out) {
      case Q -> s.q;
      case K -> s.k;
      case V -> s.v;
      case GATE -> s.hb.v;
      default -> s.sums;
    };
  }

  /** Items from..to-1 of (sequence, head) pairs, sequence-major. */
  private void attend(Batch batch, int from, int to) {
    for (int i = from; i < to; i++) {
      Scratch s = batch.seqs[i / heads];
      attendHead(s, batch.layer, i % heads);
    }
  }

  /**
   * Head h attends to cached positions 0..pos with fp32 softmax (spec §0); it uses KV head h / (nH
   * / nKV), the repeat_kv order.
   */
  private void attendHead(Scratch s, int l, int h) {
    int g = h / (heads / kvHeads);
    attendRow(
        s.q,
        h * headDim,
        s.pos,
        s.keys[l],
        s.values[l],
        g * s.capacity * headDim * 4,
        s.scores,
        h * s.capacity,
        s.att.v,
        h * headDim);
  }

  /**
   * One query row ({@code q} at {@code qOff}, post-RoPE) at position {@code pos} attends to its
   * head's cached keys and values 0..pos ({@code kv}: byte offset of the head's position 0) with
   * fp32 softmax (spec §0); {@code scores} at {@code sOff} is scratch of pos + 1 floats, the output
   * goes to {@code out} at {@code oOff}.
   */
  private void attendRow(
      float[] q,
      int qOff,
      int pos,
      NativeView keys,
      NativeView values,
      int kv,
      float[] scores,
      int sOff,
      float[] out,
      int oOff) {
    int n = pos + 1;
    float max = Float.NEGATIVE_INFINITY;
    for (int t = 0; t < n; t++) {
      float sc = DecodeKernels.dotF32At(q, qOff, keys, kv + t * headDim * 4, headDim) / attnScale;
      scores[sOff + t] = sc;
      max = Math.max(max, sc);
    }
    DecodeKernels.softmaxShifted(scores, sOff, n, max);
    DecodeKernels.weightedRows(scores, sOff, n, values, kv, headDim, out, oOff);
  }

  /**
   * Items from..to-1 of a prompt's (lane group, head) pairs, head-minor: the group's rows attend
   * together, each reading the cache up to its own position ({@link DecodeKernels#attendLanes}).
   */
  private void attendLanes(Batch batch, int from, int to) {
    int lanes = DecodeKernels.LANES;
    int l = batch.layer;
    int thread = RowPool.participant(); // regions run one at a time: this thread's buffers are free
    float[] qt = batch.laneQ[thread];
    float[] out = batch.laneOut[thread];
    int rep = heads / kvHeads;
    for (int i = from; i < to; i++) {
      int group = i / heads;
      int h = i % heads;
      int first = group * lanes;
      int rows = Math.min(lanes, batch.n - first);
      Scratch s0 = batch.seqs[first];
      int kv = (h / rep) * s0.capacity * headDim * 4; // KV head h / (nH / nKV)
      if (rows <= ROW_TAIL) {
        for (int j = 0; j < rows; j++) {
          Scratch s = batch.seqs[first + j];
          attendRow(
              s.q,
              h * headDim,
              s0.pos + j,
              s0.keys[l],
              s0.values[l],
              kv,
              batch.laneScores[thread],
              0,
              s.att.v,
              h * headDim);
        }
        continue;
      }
      for (int d = 0; d < headDim; d++) { // q transposed: lane j is row first + j
        for (int j = 0; j < lanes; j++) {
          qt[d * lanes + j] = j < rows ? batch.seqs[first + j].q[h * headDim + d] : 0;
        }
      }
      DecodeKernels.attendLanes(
          qt,
          0,
          headDim,
          rows,
          s0.pos,
          s0.keys[l],
          s0.values[l],
          kv,
          attnScale,
          batch.laneScores[thread],
          0,
          out,
          0);
      for (int j = 0; j < rows; j++) {
        float[] att = batch.seqs[first + j].att.v;
        for (int d = 0; d < headDim; d++) {
          att[h * headDim + d] = out[d * lanes + j];
        }
      }
    }
  }

  private static void oProj(Batch batch, int from, int to) {
    addInto(batch, batch.w.wo(), from, to, true);
  }

  private static void down(Batch batch, int from, int to) {
    addInto(batch, batch.w.wDown(), from, to, false);
  }

  /** Slots from..to-1 of {@code m} times each sequence's att (else hb), added into its x. */
  private static void addInto(Batch batch, Mat m, int from, int to, boolean att) {
    int n = batch.n;
    for (int slot = from; slot < to; slot++) {
      for (int b = 0; b < n; ) {
        int g = products(batch, m, slot, b, att ? ATT : HB, SUMS);
        for (int k = b; k < b + g; k++) {
          Scratch s = batch.seqs[k];
          for (int j = 0; j < m.slotRows(slot); j++) {
            int r = m.row(slot, j);
            s.x.v[r] += s.sums[r];
          }
        }
        b += g;
      }
    }
  }

  /**
   * Slots from..to-1 of gate's slots followed by up's, times each sequence's xb, into its hb (gate)
   * and sums (up). One matrix after the other rather than a gate quad beside an up quad: a thread
   * then streams four rows at a time instead of eight, and the region read 13% (F16) and 16% (fp32)
   * more a token (paired medians, docs/design.md).
   */
  private static void gateUp(Batch batch, int from, int to) {
    LayerViews w = batch.w;
    int n = batch.n;
    int sg = w.wGate().slots();
    for (int slot = from; slot < to; slot++) {
      boolean gate = slot < sg;
      for (int b = 0; b < n; ) {
        b +=
            gate
                ? products(batch, w.wGate(), slot, b, XB, GATE)
                : products(batch, w.wUp(), slot - sg, b, XB, SUMS);
      }
    }
  }

  private void lmHead(Batch batch, int from, int to) {
    int n = batch.n;
    for (int slot = from; slot < to; slot++) {
      for (int b = 0; b < n; b++) {
        Scratch s = batch.seqs[b];
        lmHead.dotSlot(slot, s.xb, s.logits);
      }
    }
  }

  /**
   * RMSNorm (spec §4.2): w * x / sqrt(mean(x^2) + eps), into {@code out} (and its 16-bit split).
   */
  private void rmsNorm(float[] x, float[] w, Vec out, boolean halves) {
    double ss = 0;
    for (float f : x) {
      ss += f * f;
    }
    float denom = (float) Math.sqrt((float) (ss / x.length) + eps);
    for (int i = 0; i < x.length; i++) {
      out.v[i] = x[i] / denom * w[i];
    }
    out.split(halves);
  }

  /** HF half-split RoPE at {@code pos}: x*cos + [x2, x1]*sinSigned, per head. */
  private void rope(float[] x, int nHeads, int pos) {
    int half = headDim / 2;
    int row = pos * headDim * 4;
    for (int h = 0; h < nHeads; h++) {
      int o = h * headDim;
      for (int i = 0; i < half; i++) {
        float x1 = x[o + i];
        float x2 = x[o + half + i];
        x[o + i] = x1 * ropeCos.getFloat(row + i * 4) + x2 * ropeSin.getFloat(row + i * 4);
        x[o + half + i] =
            x2 * ropeCos.getFloat(row + (half + i) * 4)
                + x1 * ropeSin.getFloat(row + (half + i) * 4);
      }
    }
  }
}
