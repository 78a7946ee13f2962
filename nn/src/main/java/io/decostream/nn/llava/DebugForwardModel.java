package io.decostream.nn.llava;

import io.decostream.nn.config.ModelFamily;

/**
 * A loaded multimodal model that runs the debugging pass behind {@code deco model forward}:
 * already-normalised pixels and already-expanded ids in, every intermediate out ({@link
 * DebugForward}). One implementation per {@link ModelFamily}; {@code
 * io.decostream.nn.llava.families.Families#load} picks it from config.json {@code model_type}.
 */
public interface DebugForwardModel extends AutoCloseable {

  ModelFamily family();

  /** Side of the square frames the vision tower takes (pixels per side). */
  int imageSize();

  /** Input channels of the vision tower (3). */
  int imageChannels();

  /** The placeholder id {@code inputIds} must hold, once per visual row. */
  int placeholderTokenId();

  /**
   * Visual rows {@code frames} frames contribute, i.e. the placeholder count {@code inputIds} must
   * hold.
   */
  int visualTokens(int frames);

  /**
   * Runs the whole model exactly as the family's HF class does and returns every intermediate.
   *
   * @param pixels [F, C, S, S] F32 row-major, already normalised
   * @param frames F
   * @param inputIds [T] ids with the placeholder already expanded to {@link #visualTokens(int)}
   *     copies
   * @param newTokens K >= 0 greedy tokens to generate
   * @throws IllegalArgumentException for a wrong pixel count, a wrong placeholder count, ids
   *     outside the vocabulary, or T + K - 1 over the context length
   */
  default DebugForward forwardDebug(float[] pixels, int frames, int[] inputIds, int newTokens) {
    return forwardDebug(pixels, frames, inputIds, newTokens, false);
  }

  /**
   * As {@link #forwardDebug(float[], int, int[], int)}; with {@code grounding} also the R-GAE maps
   * of the greedy tokens ({@link DebugForward#textToQuery()}, {@link DebugForward#textToPatch()};
   * spec §7.5–§7.6).
   */
  DebugForward forwardDebug(
      float[] pixels, int frames, int[] inputIds, int newTokens, boolean grounding);

  @Override
  void close();
}
