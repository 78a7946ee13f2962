package io.decostream.lab.bench;

import ai.djl.ndarray.NDArray;
import io.decostream.nn.generate.Generator;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import java.util.Objects;
import java.util.Set;

/**
 * A stream's window kept prefilled (issue 20 point 1) as the time-to-first-token benchmark drives
 * it: frames are appended as they arrive (untimed), then a question runs over the whole window and
 * only its own tokens are prefilled (timed).
 *
 * <p>It drives the same calls as the worker's live window ({@code
 * io.decostream.nn.llava.LiveWindow}): frames go in through {@link Generator#append}, a question
 * through {@link Generator#continueFrom}, and the cache is truncated back to the window after it.
 * Only the projector and the tokenizer are left out: the benchmark feeds embeddings.
 */
public final class LiveWindow implements AutoCloseable {
  private final Generator generator;
  private final KvCache cache;

  private LiveWindow(LlamaModel model, int capacity) {
    Objects.requireNonNull(model, "model");
    this.generator = new Generator(model, Set.of()); // no EOS: the first token always comes
    this.cache = model.newCache(capacity);
  }

  /** The live window the benchmark measures: the worker's generator calls on one KV cache. */
  static LiveWindow open(LlamaModel model, int capacity) {
    return new LiveWindow(model, capacity);
  }

  /** Appends one frame's visual embeddings [tokensPerFrame, D] to the window (untimed). */
  public void appendFrame(NDArray frame) {
    generator.append(cache, frame);
  }

  /**
   * Prefills a question's embeddings [q, D] after the window and returns its greedy first token;
   * the window is left as it was, ready for the next question.
   */
  public int firstToken(NDArray question) {
    int window = cache.length();
    try {
      return generator.continueFrom(cache, question, 1, Sampler.greedy()).tokenIds()[0];
    } finally {
      cache.truncate(window);
    }
  }

  /** Positions held now (the window's tokens). */
  public int length() {
    return cache.length();
  }

  /** What this implementation is, for the benchmark's output. */
  public String describe() {
    return "the worker's live-window calls (Generator.append / continueFrom on one KV cache)";
  }

  @Override
  public void close() {
    cache.close();
  }
}
