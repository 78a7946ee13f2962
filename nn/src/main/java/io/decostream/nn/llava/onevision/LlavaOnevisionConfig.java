package io.decostream.nn.llava.onevision;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.decostream.nn.config.ConfigFiles;
import io.decostream.nn.config.FamilyConfigs;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.siglip.SiglipVisionConfig;
import java.nio.file.Path;

/**
 * HF {@code LlavaOnevisionConfig} (model_type {@code llava_onevision}:
 * llava-hf/llava-onevision-qwen2-*-ov-hf), bound to config.json keys, with nested SigLIP vision and
 * Qwen2 text configs (spec §2, §3.4, §4). Defaults as HF applies them: an absent {@code
 * vision_config} is SigLIP so400m/14-384 with 26 layers, an absent {@code text_config} is {@code
 * Qwen2Config()}; a present one takes its class defaults for missing keys. vision_feature_layer -1,
 * strategy "full" (729 tokens), image/video token ids 151646/151647.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LlavaOnevisionConfig(
    @JsonProperty("model_type") String modelType,
    @JsonProperty("vision_config") SiglipVisionConfig visionConfig,
    @JsonProperty("text_config") LlamaConfig textConfig,
    @JsonProperty("vision_feature_layer") Integer visionFeatureLayer,
    @JsonProperty("vision_feature_select_strategy") String visionFeatureSelectStrategy,
    @JsonProperty("projector_hidden_act") String projectorHiddenAct,
    @JsonProperty("multimodal_projector_bias") Boolean multimodalProjectorBias,
    @JsonProperty("image_token_index") Integer imageTokenIndex,
    @JsonProperty("video_token_index") Integer videoTokenIndex,
    @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {

  public static final String MODEL_TYPE = "llava_onevision";

  /** Reads {@code dir/config.json} (or the file itself), applies HF's defaults and validates. */
  public static LlavaOnevisionConfig read(Path dirOrFile) {
    return ConfigFiles.read(dirOrFile, LlavaOnevisionConfig.class).resolved();
  }

  public LlavaOnevisionConfig resolved() {
    FamilyConfigs.requireModelType(modelType, MODEL_TYPE);
    SiglipVisionConfig v =
        visionConfig == null ? SiglipVisionConfig.oneVisionSo400m() : visionConfig;
    LlamaConfig t =
        (textConfig == null
                ? new LlamaConfig(
                    "qwen2", null, null, null, null, null, null, null, null, null, null, null, null,
                    null, null, null, null, null)
                : textConfig.modelType() == null ? withType(textConfig, "qwen2") : textConfig)
            .resolved();
    String strategy = visionFeatureSelectStrategy == null ? "full" : visionFeatureSelectStrategy;
    LlavaOnevisionConfig c =
        new LlavaOnevisionConfig(
            MODEL_TYPE,
            v,
            t,
            LlamaConfig.orDefault(visionFeatureLayer, -1),
            strategy,
            projectorHiddenAct == null ? "gelu" : projectorHiddenAct,
            multimodalProjectorBias == null || multimodalProjectorBias,
            LlamaConfig.orDefault(imageTokenIndex, 151646),
            LlamaConfig.orDefault(videoTokenIndex, 151647),
            tieWordEmbeddings != null && tieWordEmbeddings);
    // the video path views the features as a grid x grid image before bilinear pooling (spec §3.4):
    // only "full"
    LlamaConfig.require(
        "full".equals(strategy),
        "vision_feature_select_strategy "
            + strategy
            + " is not supported (SigLIP has no CLS; use full)");
    FamilyConfigs.requireGeluProjector(c.projectorHiddenAct);
    LlamaConfig.require(
        c.multimodalProjectorBias, "multimodal_projector_bias=false is not supported");
    FamilyConfigs.requireFeatureLayer(c.visionFeatureLayer, v.numHiddenLayers());
    FamilyConfigs.requireTokenId("video_token_index", c.videoTokenIndex, t);
    FamilyConfigs.requireTokenId("image_token_index", c.imageTokenIndex, t);
    return c;
  }

  private static LlamaConfig withType(LlamaConfig c, String type) {
    return new LlamaConfig(
        type,
        c.vocabSize(),
        c.hiddenSize(),
        c.intermediateSize(),
        c.numHiddenLayers(),
        c.numAttentionHeads(),
        c.numKeyValueHeads(),
        c.headDim(),
        c.hiddenAct(),
        c.maxPositionEmbeddings(),
        c.rmsNormEps(),
        c.ropeTheta(),
        c.ropeScaling(),
        c.attentionBias(),
        c.tieWordEmbeddings(),
        c.bosTokenId(),
        c.eosTokenId(),
        c.padTokenId());
  }

  /**
   * vision_feature_layer as an index into HF hidden_states (0 = embeddings, i = output of layer i).
   */
  public int visionHiddenStateIndex() {
    return FamilyConfigs.hiddenStateIndex(visionFeatureLayer, visionConfig.numHiddenLayers());
  }

  /** The vision grid side: floor(image_size / patch_size) (27 for 384/14). */
  public int gridSize() {
    return visionConfig.gridSize();
  }

  /** The pooled grid side of the video path: ceil(grid / 2) (14 for 27, spec §3.4). */
  public int pooledGridSize() {
    return (gridSize() + 1) / 2;
  }

  /**
   * Rows one video contributes: frames x pooledGrid² + 1 (the {@code image_newline} row, spec
   * §3.4).
   */
  public int videoTokens(int frames) {
    return frames * pooledGridSize() * pooledGridSize() + 1;
  }
}
