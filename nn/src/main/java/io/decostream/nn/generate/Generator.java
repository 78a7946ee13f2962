package io.decostream.nn.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Autoregressive decoding with a KV cache (spec §4.3, §5): prefill the prompt embeddings (in chunks
 * of {@link #prefillChunk()} rows, which bounds the attention-score memory of long video prompts),
 * then feed one sampled token at a time until an EOS id (not returned), {@code maxNewTokens}, a
 * stop string, or the context length.
 *
 * <p>Each decode step is {@link LlamaModel#decodeNext}: the preallocated cache and its own vectors,
 * nothing allocated per token. A generator holds no per-sequence state and may be shared; each
 * {@link #generate} call allocates its own cache.
 */
public final class Generator {

  /** Default prefill chunk (rows per forward pass). */
  public static final int DEFAULT_PREFILL_CHUNK = LlamaModel.DEFAULT_PREFILL_CHUNK;

  /** Why generation ended. */
  public enum StopReason {
    EOS,
    MAX_NEW_TOKENS,
    STOP_STRING,
    CONTEXT_FULL
  }

  /**
   * @param tokenIds generated ids, EOS excluded (a matched stop string's tokens are included)
   * @param promptTokens rows prefilled
   * @param prefillMillis prompt forward up to the first token's logits
   * @param decodeMillis all later steps (sampling included)
   */
  public record Result(
      int[] tokenIds,
      StopReason stopReason,
      int promptTokens,
      double prefillMillis,
      double decodeMillis) {}

  private final LlamaModel model;
  private final Set<Integer> eosIds;
  private final int prefillChunk;

  /**
   * A generator that stops at any id of {@code eosIds} (from generation_config.json / config.json).
   */
  public Generator(LlamaModel model, Set<Integer> eosIds) {
    this(model, eosIds, DEFAULT_PREFILL_CHUNK);
  }

  public Generator(LlamaModel model, Set<Integer> eosIds, int prefillChunk) {
    this.model = Objects.requireNonNull(model, "model");
    this.eosIds = Set.copyOf(Objects.requireNonNull(eosIds, "eosIds"));
    if (prefillChunk < 1) {
      throw new IllegalArgumentException("prefillChunk must be >= 1, got " + prefillChunk);
    }
    this.prefillChunk = prefillChunk;
  }

  public int prefillChunk() {
    return prefillChunk;
  }

  public Set<Integer> eosIds() {
    return eosIds;
  }

  /** {@link #generate(NDArray, int, Sampler, List, Function)} without stop strings. */
  public Result generate(NDArray promptEmbeddings, int maxNewTokens, Sampler sampler) {
    return generate(promptEmbeddings, maxNewTokens, sampler, List.of(), null);
  }

  /**
   * @param promptEmbeddings [T, D] (token embeddings with any visual rows already spliced in)
   * @param maxNewTokens upper bound on generated tokens (>= 0)
   * @param stopStrings generation ends once the decoded output contains one of these (may be empty)
   * @param detokenize ids → text, required when {@code stopStrings} is not empty
   * @throws IllegalArgumentException if the prompt does not fit the context length
   */
  public Result generate(
      NDArray promptEmbeddings,
      int maxNewTokens,
      Sampler sampler,
      List<String> stopStrings,
      Function<int[], String> detokenize) {
    Objects.requireNonNull(promptEmbeddings, "promptEmbeddings");
    Objects.requireNonNull(sampler, "sampler");
    Objects.requireNonNull(stopStrings, "stopStrings");
    if (maxNewTokens < 0) {
      throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
    }
    if (!stopStrings.isEmpty() && detokenize == null) {
      throw new IllegalArgumentException("stop strings need a detokenizer");
    }
    int promptLen = Math.toIntExact(promptEmbeddings.getShape().get(0));
    if (promptLen > model.contextLength()) {
      throw new IllegalArgumentException(
          "prompt of " + promptLen + " tokens exceeds the context length " + model.contextLength());
    }
    if (maxNewTokens == 0) {
      return new Result(new int[0], StopReason.MAX_NEW_TOKENS, promptLen, 0, 0);
    }
    // the last generated token is never fed back, so prompt + maxNew - 1 positions suffice
    int capacity = (int) Math.min(model.contextLength(), (long) promptLen + maxNewTokens - 1);
    try (KvCache cache = model.newCache(Math.max(capacity, promptLen))) {
      return decode(
          cache, promptEmbeddings, maxNewTokens, sampler, stopStrings, detokenize, capacity);
    }
  }

  /**
   * Generation on top of what {@code cache} already holds (a live window, issue 20 point 1):
   * prefills {@code suffix} [T, D] at positions {@code cache.length() ..}, then decodes exactly as
   * {@link #generate} would over the whole prompt (same stop rules, same positions: the tokens
   * equal those of a fresh cache). The cache is left holding the suffix and the generated tokens;
   * the caller truncates it back. {@code promptTokens} of the result counts the cached rows too.
   *
   * @throws IllegalArgumentException if the suffix does not fit the cache
   */
  public Result continueFrom(KvCache cache, NDArray suffix, int maxNewTokens, Sampler sampler) {
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(suffix, "suffix");
    Objects.requireNonNull(sampler, "sampler");
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
    }
    int rows = Math.toIntExact(suffix.getShape().get(0));
    if (rows > cache.remaining()) {
      throw new IllegalArgumentException(
          rows + " suffix rows do not fit the cache's " + cache.remaining() + " free positions");
    }
    // as generate's capacity: the whole prompt + maxNew - 1 positions, within the context length
    long wanted = (long) cache.length() + rows + maxNewTokens - 1;
    int limit = (int) Math.min(Math.min(model.contextLength(), cache.capacity()), wanted);
    return decode(cache, suffix, maxNewTokens, sampler, List.of(), null, limit);
  }

  /**
   * Runs {@code rows} [T, D] into the cache at positions {@code cache.length() ..} with the
   * generator's chunked prefill, discarding logits (a live window's prefix and frames).
   */
  public void append(KvCache cache, NDArray rows) {
    Objects.requireNonNull(cache, "cache");
    int t = Math.toIntExact(rows.getShape().get(0));
    if (t > cache.remaining()) {
      throw new IllegalArgumentException(
          t + " rows do not fit the cache's " + cache.remaining() + " free positions");
    }
    prefill(rows, cache);
  }

  /** Prefills {@code prompt} on top of the cache, then samples until a stop rule holds. */
  private Result decode(
      KvCache cache,
      NDArray prompt,
      int maxNewTokens,
      Sampler sampler,
      List<String> stopStrings,
      Function<int[], String> detokenize,
      int limit) {
    Decoding d = begin(cache, prompt, maxNewTokens, sampler, stopStrings, detokenize, limit);
    long t1 = System.nanoTime();
    while (!d.done()) {
      d.accept(model.decodeNext(d.next(), cache)); // the cache's own array: no allocation
    }
    d.decodeNanos = System.nanoTime() - t1;
    return d.result();
  }

  /**
   * The first half of {@link #continueFrom} (issue 22 point 3): prefills {@code suffix} on top of
   * {@code cache} and samples the first token; the returned decoding is then advanced by {@link
   * #step} together with other sequences' decodings, giving the tokens {@link #continueFrom} gives.
   * The cache belongs to the decoding until it is done.
   */
  public Decoding begin(KvCache cache, NDArray suffix, int maxNewTokens, Sampler sampler) {
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(suffix, "suffix");
    Objects.requireNonNull(sampler, "sampler");
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
    }
    int rows = Math.toIntExact(suffix.getShape().get(0));
    if (rows > cache.remaining()) {
      throw new IllegalArgumentException(
          rows + " suffix rows do not fit the cache's " + cache.remaining() + " free positions");
    }
    long wanted = (long) cache.length() + rows + maxNewTokens - 1;
    int limit = (int) Math.min(Math.min(model.contextLength(), cache.capacity()), wanted);
    return begin(cache, suffix, maxNewTokens, sampler, List.of(), null, limit);
  }

  private Decoding begin(
      KvCache cache,
      NDArray prompt,
      int maxNewTokens,
      Sampler sampler,
      List<String> stopStrings,
      Function<int[], String> detokenize,
      int limit) {
    int rows = Math.toIntExact(prompt.getShape().get(0));
    Decoding d =
        new Decoding(
            cache, cache.length() + rows, maxNewTokens, sampler, stopStrings, detokenize, limit);
    long t0 = System.nanoTime();
    float[] logits = prefill(prompt, cache);
    d.prefillNanos = System.nanoTime() - t0;
    d.accept(logits);
    return d;
  }

  /**
   * One decode step of every decoding in {@code active} that is not done, together ({@link
   * LlamaModel#decodeBatch}): each weight row is read once for all of them, and each decoding's
   * tokens are those it would get alone.
   */
  public void step(List<Decoding> active) {
    for (Decoding d : active) {
      if (d.owner() != this && d.owner().model != model) {
        throw new IllegalArgumentException("decodings of another model cannot be batched");
      }
    }
    int n = 0;
    for (Decoding d : active) {
      if (!d.done()) {
        n++;
      }
    }
    if (n == 0) {
      return;
    }
    int[] tokens = new int[n];
    KvCache[] caches = new KvCache[n];
    Decoding[] ds = new Decoding[n];
    int b = 0;
    for (Decoding d : active) {
      if (!d.done()) {
        tokens[b] = d.next();
        caches[b] = d.cache;
        ds[b++] = d;
      }
    }
    float[][] logits = new float[n][];
    long t0 = System.nanoTime();
    model.decodeBatch(tokens, caches, n, logits);
    long t1 = System.nanoTime();
    for (b = 0; b < n; b++) {
      ds[b].decodeNanos += t1 - t0; // each sequence waited for the whole step
      ds[b].accept(logits[b]);
    }
  }

  /**
   * One sequence being generated (issue 22 point 3): the tokens so far, the next token to feed, and
   * why it stopped once it has. Stop rules as {@link #generate}'s.
   */
  public final class Decoding {
    private final KvCache cache;
    private final int promptLen;
    private final int maxNewTokens;
    private final Sampler sampler;
    private final List<String> stopStrings;
    private final Function<int[], String> detokenize;
    private final int limit;
    private final int[] out;
    private int n;
    private int next = -1;
    private StopReason reason;
    private long prefillNanos;
    private long decodeNanos;

    private Decoding(
        KvCache cache,
        int promptLen,
        int maxNewTokens,
        Sampler sampler,
        List<String> stopStrings,
        Function<int[], String> detokenize,
        int limit) {
      this.cache = cache;
      this.promptLen = promptLen;
      this.maxNewTokens = maxNewTokens;
      this.sampler = sampler;
      this.stopStrings = stopStrings;
      this.detokenize = detokenize;
      this.limit = limit;
      this.out = new int[maxNewTokens];
    }

    private Generator owner() {
      return Generator.this;
    }

    /** Whether a stop rule held. */
    public boolean done() {
      return reason != null;
    }

    /** Tokens generated so far. */
    public int generated() {
      return n;
    }

    /** The cache it decodes in. */
    public KvCache cache() {
      return cache;
    }

    int next() {
      if (reason != null) {
        throw new IllegalStateException("the decoding is done (" + reason + ")");
      }
      return next;
    }

    /** Samples from the logits of the last position fed; stops or sets the next token. */
    void accept(float[] logits) {
      int token = sampler.next(logits);
      if (eosIds.contains(token)) {
        reason = StopReason.EOS;
        return;
      }
      out[n++] = token;
      if (!stopStrings.isEmpty()) {
        String text = detokenize.apply(Arrays.copyOf(out, n));
        if (stopStrings.stream().anyMatch(text::contains)) {
          reason = StopReason.STOP_STRING;
          return;
        }
      }
      if (n == maxNewTokens) {
        reason = StopReason.MAX_NEW_TOKENS;
        return;
      }
      if (cache.length() >= limit) {
        reason = StopReason.CONTEXT_FULL;
        return;
      }
      next = token;
    }

    /** What {@link #generate}/{@link #continueFrom} would return; only once done. */
    public Result result() {
      if (reason == null) {
        throw new IllegalStateException("the decoding is not done yet");
      }
      return new Result(
          Arrays.copyOf(out, n), reason, promptLen, prefillNanos / 1e6, decodeNanos / 1e6);
    }
  }

  /** Runs the prompt through the cache chunk by chunk; returns the last row's logits. */
  private float[] prefill(NDArray prompt, KvCache cache) {
    try (NDManager step = prompt.getManager().newSubManager()) {
      NDArray last = model.prefill(prompt, cache, prefillChunk);
      last.attach(step);
      return last.toFloatArray();
    }
  }
}
