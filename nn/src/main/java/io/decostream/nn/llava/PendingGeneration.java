package io.decostream.nn.llava;

import io.decostream.nn.generate.Generator;
import io.decostream.nn.llama.KvCache;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A generation started on its own copy of a live window's cache and advanced step by step with
 * other streams' generations (issue 22 point 3: continuous batching). {@link LiveWindow#begin}
 * prefills the prompt's text and samples the first token; {@link #step} advances every pending
 * generation of one model by one token, each weight row read once for all; {@link #result} gives,
 * once done, what {@link LiveWindow#answer} gives for the same frames and question.
 *
 * <p>Thread safety: {@link #step} holds the model's lock for one step only, so a stream thread
 * appending a frame to a live window waits at most one step. A pending generation belongs to one
 * thread at a time (the scheduler's).
 */
public final class PendingGeneration implements AutoCloseable {

  private final Object lock;
  private final LanguageParts lang;
  private final Generator generator;
  private final Generator.Decoding decoding;
  private final KvCache cache;
  private boolean closed;

  PendingGeneration(
      Object lock,
      LanguageParts lang,
      Generator generator,
      Generator.Decoding decoding,
      KvCache cache) {
    this.lock = lock;
    this.lang = lang;
    this.generator = generator;
    this.decoding = decoding;
    this.cache = cache;
  }

  /** Whether a stop rule held (EOS, the token budget, the context). */
  public boolean done() {
    return decoding.done();
  }

  /** Tokens generated so far. */
  public int generated() {
    return decoding.generated();
  }

  /**
   * One token for every generation of {@code pending} that is not done, together. All must come
   * from windows of one model.
   */
  public static void step(List<PendingGeneration> pending) {
    Objects.requireNonNull(pending, "pending");
    if (pending.isEmpty()) {
      return;
    }
    PendingGeneration first = pending.get(0);
    List<Generator.Decoding> ds = new ArrayList<>(pending.size());
    for (PendingGeneration p : pending) {
      if (p.lock != first.lock) {
        throw new IllegalArgumentException("pending generations of different models");
      }
      if (p.closed) {
        throw new IllegalStateException("a pending generation was closed");
      }
      ds.add(p.decoding);
    }
    synchronized (first.lock) {
      first.generator.step(ds);
    }
  }

  /** The finished text and its numbers; only once {@link #done}. */
  public GenerationResult result() {
    Generator.Result r = decoding.result();
    return new GenerationResult(
        lang.tokenizer().decode(r.tokenIds(), true),
        r.tokenIds(),
        r.promptTokens(),
        r.tokenIds().length,
        0,
        r.prefillMillis(),
        r.decodeMillis());
  }

  /** Bytes of its cache copy. */
  public long cacheBytes() {
    return cache.bytes();
  }

  /** Frees its cache copy. */
  @Override
  public void close() {
    synchronized (lock) {
      if (!closed) {
        closed = true;
        cache.close();
      }
    }
  }
}
