package io.decostream.worker;

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
 */
public record LiveWindowConfig(boolean enabled, int slideFrames, int maxStreams, long maxBytes) {

  /**
   * Default: enabled, slides by 4 frames, 16 streams, 12 GiB. A stream is charged two F32 caches of
   * up to the context length: about 2 x 300 MiB for the benchmark's 109M Llama at 4096 positions, 2
   * x 4 GiB for a 7B Vicuna (32 layers x 32 KV heads x 128 x K,V x 4 bytes = 1 MiB a position), so
   * the default keeps one 7B stream or many small-model streams.
   */
  public static final LiveWindowConfig DEFAULTS = new LiveWindowConfig(true, 4, 16, 12L << 30);

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
  }

  public LiveWindowConfig withEnabled(boolean on) {
    return new LiveWindowConfig(on, slideFrames, maxStreams, maxBytes);
  }
}
