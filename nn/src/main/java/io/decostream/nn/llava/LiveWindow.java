package io.decostream.nn.llava;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.generate.Generator;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A video window kept prefilled in a KV cache (issue 20 point 1): the prompt's text before the
 * placeholder, then each frame's projected rows as the frame arrives, so that answering a question
 * prefills only the text after the placeholder and decodes.
 *
 * <p>The prompt is the family's template rendered as {@code prefix <video> suffix} (vicuna_v1:
 * {@code SYSTEM USER: <video>\n{question} ASSISTANT:}) and the full path ({@link
 * Splicing#generate}) tokenizes it once, then expands the one placeholder id to F x M rows. The
 * cache holds the ids before the placeholder (BOS included) and the rows of the frames appended so
 * far; {@link #answer} tokenizes the whole prompt again, checks that its ids before the placeholder
 * are exactly the cached ones (a tokenizer whose split depended on the question would fail {@link
 * #canAnswer}, and the caller falls back to the full path), then prefills the ids after the
 * placeholder on top, decodes, and truncates the cache back to the window. The positions,
 * embeddings and decoding are those of the full path, so the greedy tokens are the same
 * (LiveWindowTest checks it).
 *
 * <p>Frames only append: RoPE positions make dropping the oldest frame a rebuild (a fresh window
 * over the remaining frames); the worker does that in the background while this one keeps
 * answering.
 *
 * <p>Thread safety: every model call holds the lock the facade gave (the model itself, the one its
 * {@code generate} and {@code explain} synchronise on), so windows of several streams, built or
 * answering from several threads, share one decoder safely, one pass at a time. A window itself
 * belongs to one thread at a time.
 */
public final class LiveWindow implements AutoCloseable {

  private final Object lock;
  private final LanguageParts lang;
  private final LlamaModel llm;
  private final NDManager manager;
  private final PromptTemplate template;
  private final String placeholder;
  private final int placeholderId;
  private final int tokensPerFrame;
  private final int maxFrames;
  private final int[] prefixIds;
  private final KvCache cache;
  private final int prefillChunk;
  private int frames;
  private boolean closed;

  /**
   * Prefills the template's prefix into a cache sized for {@code maxFrames} frames of {@code
   * tokensPerFrame} rows plus {@code reservedTokens} of question and answer (capped at the context
   * length). Package-private: a family facade opens it (e.g. {@code
   * LlavaNextVideo#openLiveWindow}).
   */
  LiveWindow(
      Object lock,
      LanguageParts lang,
      NDManager parent,
      PromptTemplate template,
      String placeholder,
      int placeholderId,
      int tokensPerFrame,
      int maxFrames,
      int reservedTokens,
      int prefillChunk) {
    this.lock = Objects.requireNonNull(lock, "lock");
    this.lang = Objects.requireNonNull(lang, "lang");
    this.llm = lang.llm();
    this.template = Objects.requireNonNull(template, "template");
    this.placeholder = Objects.requireNonNull(placeholder, "placeholder");
    this.placeholderId = placeholderId;
    if (tokensPerFrame < 1 || maxFrames < 1 || reservedTokens < 1 || prefillChunk < 1) {
      throw new IllegalArgumentException(
          "a live window needs tokensPerFrame, maxFrames, reservedTokens and prefillChunk >= 1, got "
              + tokensPerFrame
              + ", "
              + maxFrames
              + ", "
              + reservedTokens
              + ", "
              + prefillChunk);
    }
    this.tokensPerFrame = tokensPerFrame;
    this.maxFrames = maxFrames;
    this.prefillChunk = prefillChunk;
    int[] ids = lang.tokenizer().encode(template.render(placeholder, ""), true);
    int at = placeholderAt(ids);
    if (at < 0) {
      throw new IllegalStateException(
          "the tokenizer did not keep " + placeholder + " as one token (id " + placeholderId + ")");
    }
    this.prefixIds = Arrays.copyOf(ids, at);
    long window = (long) prefixIds.length + (long) maxFrames * tokensPerFrame;
    if (window > llm.contextLength()) {
      throw new IllegalArgumentException(
          "a live window of "
              + maxFrames
              + " frames x "
              + tokensPerFrame
              + " tokens + "
              + prefixIds.length
              + " prefix tokens exceeds the context length "
              + llm.contextLength());
    }
    int capacity = (int) Math.min(llm.contextLength(), window + reservedTokens);
    synchronized (lock) {
      this.manager = parent.newSubManager();
      KvCache c = null;
      try {
        c = llm.newCache(capacity);
        if (prefixIds.length > 0) {
          try (NDManager step = manager.newSubManager()) {
            new Generator(llm, lang.eosIds(), prefillChunk).append(c, llm.embed(step, prefixIds));
          }
        }
      } catch (RuntimeException e) {
        if (c != null) {
          c.close();
        }
        manager.close();
        throw e;
      }
      this.cache = c;
    }
  }

  /** Frames appended so far. */
  public int frames() {
    return frames;
  }

  /** The most frames this window holds. */
  public int maxFrames() {
    return maxFrames;
  }

  public int tokensPerFrame() {
    return tokensPerFrame;
  }

  /** Ids before the placeholder (BOS included), as cached. */
  public int[] prefixIds() {
    return prefixIds.clone();
  }

  /** Cached positions of the window: prefix + frames x tokensPerFrame. */
  public int windowTokens() {
    return prefixIds.length + frames * tokensPerFrame;
  }

  /** Positions the cache holds at most (window + room for question and answer). */
  public int capacityTokens() {
    return cache.capacity();
  }

  /** Bytes of this window's KV cache (K and V, every layer, the whole capacity). */
  public long cacheBytes() {
    return cache.bytes();
  }

  /**
   * Projects one frame's rows ({@code [tokensPerFrame * Dv]}, pooled features as the full path's
   * {@link VideoPrompt} takes them) and prefills them after the frames already cached.
   *
   * @throws IllegalStateException when the window is full or closed
   */
  public void append(float[] frame) {
    Objects.requireNonNull(frame, "frame");
    int dv = lang.projector().inputDim();
    if (frame.length != (long) tokensPerFrame * dv) {
      throw new IllegalArgumentException(
          "frame has "
              + frame.length
              + " values, expected "
              + (long) tokensPerFrame * dv
              + " ("
              + tokensPerFrame
              + " tokens x Dv="
              + dv
              + ")");
    }
    synchronized (lock) {
      checkOpen();
      if (frames == maxFrames) {
        throw new IllegalStateException("the live window is full (" + maxFrames + " frames)");
      }
      try (NDManager step = manager.newSubManager()) {
        new Generator(llm, lang.eosIds(), prefillChunk)
            .append(cache, lang.project(step, List.of(frame)));
      } catch (RuntimeException e) {
        // a partly written frame must not stay: back to the last whole frame
        cache.truncate(windowTokens());
        throw e;
      }
      frames++;
    }
  }

  /**
   * Whether {@link #answer} can answer {@code question} exactly as the full path would: at least
   * one frame, the prompt's ids before the placeholder are the cached ones, and the cache has room
   * for the question and {@code maxNewTokens} (else use the full path).
   */
  public boolean canAnswer(String question, int maxNewTokens) {
    return frames > 0 && !closed && suffix(question, maxNewTokens) != null;
  }

  /**
   * Answers {@code question} over the cached frames: prefills the prompt's ids after the
   * placeholder, decodes as the full path does (same sampler, EOS ids, context limit), then
   * truncates the cache back to the window.
   *
   * @throws IllegalStateException when {@link #canAnswer} is false
   */
  public GenerationResult answer(String question, GenerationOptions options) {
    Objects.requireNonNull(options, "options");
    synchronized (lock) {
      checkOpen();
      if (frames == 0) {
        throw new IllegalStateException("the live window holds no frames yet");
      }
      int[] suffix = suffix(question, options.maxNewTokens());
      if (suffix == null) {
        throw new IllegalStateException(
            "the live window cannot answer this question exactly (prompt prefix differs or no room"
                + " for "
                + options.maxNewTokens()
                + " new tokens); use the full path");
      }
      int window = windowTokens();
      Sampler sampler =
          options.isGreedy()
              ? Sampler.greedy()
              : Sampler.of(options.temperature(), options.topP(), options.seed());
      try (NDManager step = manager.newSubManager()) {
        // the generator's own prefill and decode loop on top of the cached window
        Generator.Result r =
            new Generator(llm, lang.eosIds(), prefillChunk)
                .continueFrom(cache, llm.embed(step, suffix), options.maxNewTokens(), sampler);
        return new GenerationResult(
            lang.tokenizer().decode(r.tokenIds(), true),
            r.tokenIds(),
            r.promptTokens(),
            r.tokenIds().length,
            0,
            r.prefillMillis(),
            r.decodeMillis());
      } finally {
        cache.truncate(window);
      }
    }
  }

  /**
   * Starts answering {@code question} over the first {@code frames} cached frames in a copy of the
   * cache (issue 22 point 3): copies the prefix and those frames' positions, prefills the prompt's
   * ids after the placeholder and samples the first token; the window itself is left as it was and
   * keeps taking frames. {@link PendingGeneration#step} then decodes it together with other
   * streams' generations; its tokens are those {@link #answer} gives over the same frames. Null
   * when the full path must answer instead (as {@link #canAnswer}).
   */
  public PendingGeneration begin(String question, GenerationOptions options, int frames) {
    Objects.requireNonNull(options, "options");
    synchronized (lock) {
      checkOpen();
      if (frames < 1 || frames > this.frames) {
        throw new IllegalArgumentException(
            "cannot answer over " + frames + " of the " + this.frames + " cached frames");
      }
      int[] suffix = suffix(question, options.maxNewTokens());
      if (suffix == null) {
        return null;
      }
      int window = prefixIds.length + frames * tokensPerFrame;
      long promptLen = (long) window + suffix.length;
      int capacity =
          (int)
              Math.max(
                  promptLen, Math.min(llm.contextLength(), promptLen + options.maxNewTokens() - 1));
      Sampler sampler =
          options.isGreedy()
              ? Sampler.greedy()
              : Sampler.of(options.temperature(), options.topP(), options.seed());
      Generator generator = new Generator(llm, lang.eosIds(), prefillChunk);
      KvCache copy = llm.copyOf(cache, window, capacity);
      try (NDManager step = manager.newSubManager()) {
        Generator.Decoding d =
            generator.begin(copy, llm.embed(step, suffix), options.maxNewTokens(), sampler);
        return new PendingGeneration(lock, lang, generator, d, copy);
      } catch (RuntimeException e) {
        copy.close();
        throw e;
      }
    }
  }

  /** The prompt's ids after the placeholder, or null when the full path must answer instead. */
  private int[] suffix(String question, int maxNewTokens) {
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
    }
    String text = template.render(placeholder, PromptTemplate.checkQuestion(question, placeholder));
    int[] ids = lang.tokenizer().encode(text, true);
    int at = placeholderAt(ids);
    if (at != prefixIds.length || !Arrays.equals(ids, 0, at, prefixIds, 0, at)) {
      return null;
    }
    int[] suffix = Arrays.copyOfRange(ids, at + 1, ids.length);
    if (suffix.length == 0) {
      return null;
    }
    long promptLen = (long) windowTokens() + suffix.length;
    if (promptLen > llm.contextLength()) {
      throw new IllegalArgumentException(
          "prompt of "
              + promptLen
              + " tokens ("
              + (prefixIds.length + suffix.length)
              + " text + "
              + frames
              + " frames x "
              + tokensPerFrame
              + ") exceeds the context length "
              + llm.contextLength());
    }
    long needed = Math.min(llm.contextLength(), promptLen + maxNewTokens - 1);
    return needed <= cache.capacity() ? suffix : null;
  }

  /** Index of the one placeholder, -1 when there is none or more than one. */
  private int placeholderAt(int[] ids) {
    int at = -1;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == placeholderId) {
        if (at >= 0) {
          return -1;
        }
        at = i;
      }
    }
    return at;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the live window is closed");
    }
  }

  /** Frees the cache. */
  @Override
  public void close() {
    synchronized (lock) {
      if (!closed) {
        closed = true;
        cache.close();
        manager.close();
      }
    }
  }
}
