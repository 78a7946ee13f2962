package io.decostream.worker;

import java.time.Duration;

/**
 * The live window (issue 20 point 1): each stream's frames stay prefilled in a KV cache, so a
 * question or caption prefills only its own text. See docs/design.md "Live window".
 *
 * @param enabled false = every answer re-prefills the whole window (the reference path, also the
 *     fallback whenever a live window cannot answer)
 * @param slideFrames when the cached window is full, the oldest this-many frames are dropped at
 *     once by rebuilding a second cache in the background (the old one keeps answering); a larger
 *     value means fewer rebuilds and more context per cached window (it holds up to W + slideFrames
 *     frames where the context allows)
 * @param maxStreams at most this many streams keep a cached window (least recently used evicted)
 * @param maxBytes at most this many bytes of KV cache and kept frame features over all streams
 *     (least recently used evicted; a single window over the bound is not cached)
 * @param hotFor how long a stream stays hot after a question (issue 22): {@code warmAfter}
 *     questions within it make a stream hot, and a hot stream asked nothing for it is cooled (its
 *     window freed)
 * @param warmAfter questions within {@code hotFor} that make a stream hot, so that its window is
 *     built (in the background) and kept; 0 = every stream is kept prefilled from its first frame
 *     and never cooled (the behaviour before issue 22)
 */
public record LiveWindowConfig(
    boolean enabled,
    int slideFrames,
    int maxStreams,
    long maxBytes,
    Duration hotFor,
    int warmAfter) {

  /** A stream is hot for this long after a question, by default. */
  public static final Duration HOT_FOR = Duration.ofSeconds(30);

  /** Questions within {@link #HOT_FOR} that make a stream hot, by default. */
  public static final int WARM_AFTER = 2;

  /**
   * Default: enabled, slides by 4 frames, 16 streams, 12 GiB, windows kept only for streams asked
   * twice within 30 s. A stream is charged two F32 caches of up to the context length: about 2 x
   * 300 MiB for the benchmark's 109M Llama at 4096 positions, 2 x 4 GiB for a 7B Vicuna (32 layers
   * x 32 KV heads x 128 x K,V x 4 bytes = 1 MiB a position), so the default keeps one 7B stream or
   * many small-model streams.
   */
  public static final LiveWindowConfig DEFAULTS =
      new LiveWindowConfig(true, 4, 16, 12L << 30, HOT_FOR, WARM_AFTER);

  /** The full re-prefill path only. */
  public static final LiveWindowConfig OFF = DEFAULTS.withEnabled(false);

  public LiveWindowConfig {
    if (slideFrames < 1) {
      throw new IllegalArgumentException(
          "live window slideFrames must be >= 1, got " + slideFrames);
    }
    if (maxStreams < 1) {
      throw new IllegalArgumentException("live window maxStreams must be >= 1, got " + maxStreams);
    }
    if (maxBytes < 1) {
      throw new IllegalArgumentException("live window maxBytes must be >= 1, got " + maxBytes);
    }
    if (hotFor == null || hotFor.isNegative() || hotFor.isZero()) {
      throw new IllegalArgumentException("live window hotFor must be > 0, got " + hotFor);
    }
    if (warmAfter < 0) {
      throw new IllegalArgumentException("live window warmAfter must be >= 0, got " + warmAfter);
    }
  }

  /** Every stream kept prefilled from its first frame, never cooled (as before issue 22). */
  public LiveWindowConfig(boolean enabled, int slideFrames, int maxStreams, long maxBytes) {
    this(enabled, slideFrames, maxStreams, maxBytes, HOT_FOR, 0);
  }

  public LiveWindowConfig withEnabled(boolean on) {
    return new LiveWindowConfig(on, slideFrames, maxStreams, maxBytes, hotFor, warmAfter);
  }

  /** Windows only for streams asked {@code questions} times within {@code window} (issue 22). */
  public LiveWindowConfig withHot(Duration window, int questions) {
    return new LiveWindowConfig(enabled, slideFrames, maxStreams, maxBytes, window, questions);
  }

  /**
   * Whether windows are kept only for hot streams (else for every stream, from its first frame).
   */
  boolean hotOnly() {
    return warmAfter > 0;
  }
}
