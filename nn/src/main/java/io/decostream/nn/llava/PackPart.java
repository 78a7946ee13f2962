package io.decostream.nn.llava;

/**
 * Which half of a pack a stream stage loads (issue 23 point 3): the encoder needs only VISION, the
 * LLM worker only LANGUAGE; {@code deco model forward} and training need ALL. Every family loads
 * strictly within the loaded parts; with ALL no tensor of the checkpoint may be left over.
 */
public enum PackPart {
  VISION,
  LANGUAGE,
  ALL;

  /** Whether the vision half (tower, processor) is loaded. */
  public boolean vision() {
    return this != LANGUAGE;
  }

  /** Whether the language half (projector, decoder, tokenizer, family extras) is loaded. */
  public boolean language() {
    return this != VISION;
  }
}
