package io.decostream.lab.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import java.util.Objects;

/**
 * A stream's window kept prefilled (issue 20 point 1) as the time-to-first-token benchmark drives
 * it: frames are appended as they arrive (untimed), then a question runs over the whole window and
 * only its own tokens are prefilled (timed).
 *
 * <p>The hook for the worker's live window: {@link #open} returns {@link KvCacheWindow}, which
 * keeps the window in an nn {@link KvCache} and rolls each question back off it. When the worker's
 * own live-window API lands, make {@link #open} return an adapter to it, so that the benchmark
 * times the worker's path; nothing else in the benchmark changes.
 */
public interface LiveWindow extends AutoCloseable {

  /** Appends one frame's visual embeddings [tokensPerFrame, D] to the window (untimed). */
  void appendFrame(NDArray frame);

  /**
   * Prefills a question's embeddings [q, D] after the window and returns its greedy first token;
   * the window is left as it was, ready for the next question.
   */
  int firstToken(NDArray question);

  /** Positions held now (the window's tokens). */
  int length();

  /** What this implementation is, for the benchmark's output. */
  String describe();

  @Override
  void close();

  /**
   * The live window the benchmark measures: today {@link KvCacheWindow}; swap in the worker's live
   * window here.
   */
  static LiveWindow open(LlamaModel model, int capacity) {
    return new KvCacheWindow(model, capacity);
  }

  /** The window in one KV cache; a question is appended, answered, then truncated away. */
  final class KvCacheWindow implements LiveWindow {
    private final LlamaModel model;
    private final KvCache cache;

    public KvCacheWindow(LlamaModel model, int capacity) {
      this.model = Objects.requireNonNull(model, "model");
      this.cache = model.newCache(capacity);
    }

    @Override
    public void appendFrame(NDArray frame) {
      try (NDManager step = frame.getManager().newSubManager()) {
        step.tempAttachAll(frame);
        model.forwardLast(frame, cache).close();
      }
    }

    @Override
    public int firstToken(NDArray question) {
      int window = cache.length();
      try (NDManager step = question.getManager().newSubManager()) {
        step.tempAttachAll(question);
        NDArray logits = model.forwardLast(question, cache);
        logits.attach(step);
        return (int) logits.argMax().getLong();
      } finally {
        cache.truncate(window);
      }
    }

    @Override
    public int length() {
      return cache.length();
    }

    @Override
    public String describe() {
      return "nn KV cache kept across questions (stand-in until the worker's live window lands)";
    }

    @Override
    public void close() {
      cache.close();
    }
  }
}
