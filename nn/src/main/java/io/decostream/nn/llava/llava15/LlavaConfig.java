package io.decostream.nn.llava.llava15;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.config.ConfigFiles;
import io.decostream.nn.config.FamilyConfigs;
import io.decostream.nn.config.LlamaConfig;
import java.nio.file.Path;

/**
 * HF {@code LlavaConfig} (model_type {@code llava}: llava-hf/llava-1.5-*-hf), bound to config.json
 * keys, with nested CLIP vision and Llama text configs (spec §1, §3.1, §4). Load with {@link
 * #read(Path)}, which applies HF's defaults: CLIP-L/14-336, vision_feature_layer -2, strategy
 * "default" (CLS dropped, 576 tokens per image), {@code image_token_index} 32000, gelu projector
 * with biases.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LlavaConfig(
    @JsonProperty("model_type") String modelType,
    @JsonProperty("vision_config") ClipVisionConfig visionConfig,
    @JsonProperty("text_config") LlamaConfig textConfig,
    @JsonProperty("vision_feature_layer") Integer visionFeatureLayer,
    @JsonProperty("vision_feature_select_strategy") String visionFeatureSelectStrategy,
    @JsonProperty("projector_hidden_act") String projectorHiddenAct,
    @JsonProperty("multimodal_projector_bias") Boolean multimodalProjectorBias,
    @JsonProperty("image_token_index") Integer imageTokenIndex,
    @JsonProperty("image_seq_length") Integer imageSeqLength,
    @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {

  public static final String MODEL_TYPE = "llava";

  /** Reads {@code dir/config.json} (or the file itself), applies HF's defaults and validates. */
  public static LlavaConfig read(Path dirOrFile) {
    return ConfigFiles.read(dirOrFile, LlavaConfig.class).resolved();
  }

  public LlavaConfig resolved() {
    FamilyConfigs.requireModelType(modelType, MODEL_TYPE);
    ClipVisionConfig v =
        (visionConfig == null
                ? new ClipVisionConfig(
                    null, null, null, null, null, null, null, null, null, null, null)
                : visionConfig)
            .resolved();
    LlamaConfig t = FamilyConfigs.text(textConfig);
    String strategy = visionFeatureSelectStrategy == null ? "default" : visionFeatureSelectStrategy;
    int tokens = v.gridSize() * v.gridSize() + ("full".equals(strategy) ? 1 : 0);
    LlavaConfig c =
        new LlavaConfig(
            MODEL_TYPE,
            v,
            t,
            LlamaConfig.orDefault(visionFeatureLayer, -2),
            strategy,
            projectorHiddenAct == null ? "gelu" : projectorHiddenAct,
            multimodalProjectorBias == null || multimodalProjectorBias,
            LlamaConfig.orDefault(imageTokenIndex, 32000),
            LlamaConfig.orDefault(imageSeqLength, tokens),
            tieWordEmbeddings != null && tieWordEmbeddings);
    LlamaConfig.require(
        "default".equals(strategy) || "full".equals(strategy),
        "vision_feature_select_strategy " + strategy + " is not supported (default, full)");
    FamilyConfigs.requireGeluProjector(c.projectorHiddenAct);
    LlamaConfig.require(
        c.multimodalProjectorBias, "multimodal_projector_bias=false is not supported");
    FamilyConfigs.requireFeatureLayer(c.visionFeatureLayer, v.numHiddenLayers());
    FamilyConfigs.requireTokenId("image_token_index", c.imageTokenIndex, t);
    LlamaConfig.require(
        c.imageSeqLength == tokens,
        "image_seq_length "
            + c.imageSeqLength
            + " does not match the vision tower's "
            + tokens
            + " tokens per image");
    return c;
  }

  /**
   * vision_feature_layer as an index into HF hidden_states (0 = embeddings, i = output of layer i).
   */
  public int visionHiddenStateIndex() {
    return FamilyConfigs.hiddenStateIndex(visionFeatureLayer, visionConfig.numHiddenLayers());
  }

  /** Whether the CLS token is dropped (strategy "default"). */
  public boolean dropsCls() {
    return "default".equals(visionFeatureSelectStrategy);
  }
}
