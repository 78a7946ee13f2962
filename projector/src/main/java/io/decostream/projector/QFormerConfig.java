package io.decostream.projector;

/**
 * Size of a BLIP-2 style Q-Former (models.md §3.6, [NX-QF] BERT-base config). BLIP-2 uses {@code
 * (Dv, 768, 12, 3072, 12, 32, 2)}; DeCo's comparison compresses to 64 queries.
 *
 * @param visionWidth Dv, width of the vision features (cross-attention key/value input, {@code
 *     encoder_hidden_size})
 * @param hidden Q-Former width (BERT hidden_size)
 * @param heads attention heads; {@code hidden % heads == 0}
 * @param intermediate query FFN width (BERT intermediate_size)
 * @param layers number of BertLayers
 * @param queries number of learned queries Q = output tokens
 * @param crossAttentionFreq layer {@code i} has cross-attention iff {@code i % freq == 0}
 */
public record QFormerConfig(
    int visionWidth,
    int hidden,
    int heads,
    int intermediate,
    int layers,
    int queries,
    int crossAttentionFreq) {

  public QFormerConfig {
    BlockWeights.requirePositive("visionWidth", visionWidth);
    BlockWeights.requirePositive("hidden", hidden);
    BlockWeights.requirePositive("heads", heads);
    BlockWeights.requirePositive("intermediate", intermediate);
    BlockWeights.requirePositive("layers", layers);
    BlockWeights.requirePositive("queries", queries);
    BlockWeights.requirePositive("crossAttentionFreq", crossAttentionFreq);
    if (hidden % heads != 0) {
      throw new IllegalArgumentException(
          "hidden " + hidden + " is not a multiple of heads " + heads);
    }
  }

  /** Per-head width {@code hidden / heads}. */
  public int headDim() {
    return hidden / heads;
  }

  /** Whether layer {@code i} has a cross-attention block ({@code i % crossAttentionFreq == 0}). */
  public boolean hasCrossAttention(int layer) {
    return layer % crossAttentionFreq == 0;
  }
}
