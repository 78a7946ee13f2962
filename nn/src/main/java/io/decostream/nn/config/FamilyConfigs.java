package io.decostream.nn.config;

/**
 * The config.json rules every LLaVA family's config shares (spec §1.3, §3.1, §4): the model_type
 * check, the text config's HF defaults, vision_feature_layer as a hidden-state index, the gelu
 * projector with biases, placeholder ids inside the vocabulary. Each family's record keeps only its
 * own keys and defaults.
 *
 * <p>Public for the family packages' config records ({@code io.decostream.nn.llava.nextvideo},
 * {@code .onevision}, {@code .llava15}); part of the families' shared base.
 */
public final class FamilyConfigs {

  private FamilyConfigs() {}

  /** A config.json of another family fails naming both model types. */
  public static void requireModelType(String found, String expected) {
    if (found != null && !expected.equals(found)) {
      throw new IllegalArgumentException(
          "config.json model_type is '" + found + "'; this loader reads '" + expected + "'");
    }
  }

  /** {@code text_config} with HF's defaults applied (all defaults when absent). */
  public static LlamaConfig text(LlamaConfig text) {
    return (text == null
            ? new LlamaConfig(
                null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null)
            : text)
        .resolved();
  }

  /**
   * vision_feature_layer as an index into HF hidden_states (0 = embeddings, i = output of layer i);
   * negative values count from the end.
   */
  public static int hiddenStateIndex(int featureLayer, int layers) {
    return featureLayer < 0 ? layers + 1 + featureLayer : featureLayer;
  }

  /** The feature layer must name a hidden state of the tower. */
  public static void requireFeatureLayer(int featureLayer, int layers) {
    int idx = hiddenStateIndex(featureLayer, layers);
    LlamaConfig.require(
        idx >= 0 && idx <= layers, "vision_feature_layer " + featureLayer + " is out of range");
  }

  /** multi_modal_projector: linear, exact GELU, linear (spec §3.1). */
  public static void requireGeluProjector(String act) {
    LlamaConfig.require(
        "gelu".equals(act), "projector_hidden_act " + act + " is not supported (gelu)");
  }

  /** A placeholder id must index the embedding table. */
  public static void requireTokenId(String key, int id, LlamaConfig text) {
    LlamaConfig.require(id >= 0 && id < text.vocabSize(), key + " must be in [0, vocab_size)");
  }
}
