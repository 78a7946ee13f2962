package io.decostream.nn.llava;

/**
 * The answer to a {@link VideoPrompt}.
 *
 * @param text decoded answer, special tokens skipped, EOS excluded
 * @param tokenIds generated ids (EOS excluded)
 * @param promptTokens prompt length after expanding the video placeholder (text tokens + frames x
 *     tokensPerFrame)
 * @param generatedTokens {@code tokenIds.length}
 * @param projectorMillis multi_modal_projector over all visual rows
 * @param prefillMillis prompt forward up to the first token's logits
 * @param decodeMillis remaining decode steps
 */
public record GenerationResult(
    String text,
    int[] tokenIds,
    int promptTokens,
    int generatedTokens,
    double projectorMillis,
    double prefillMillis,
    double decodeMillis) {

  public GenerationResult {
    tokenIds = tokenIds.clone();
    if (generatedTokens != tokenIds.length) {
      throw new IllegalArgumentException(
          "generatedTokens " + generatedTokens + " != " + tokenIds.length + " ids");
    }
  }

  @Override
  public int[] tokenIds() {
    return tokenIds.clone();
  }
}
