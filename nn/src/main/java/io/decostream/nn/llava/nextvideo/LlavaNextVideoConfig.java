package io.decostream.nn.llava.nextvideo;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.config.ConfigFiles;
import io.decostream.nn.config.FamilyConfigs;
import io.decostream.nn.config.LlamaConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * HF {@code LlavaNextVideoConfig} (model_type {@code llava_next_video}), bound to config.json keys,
 * with nested vision and text configs. Load with {@link #read(Path)}, which applies HF's defaults.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LlavaNextVideoConfig(
    @JsonProperty("model_type") String modelType,
    @JsonProperty("vision_config") ClipVisionConfig visionConfig,
    @JsonProperty("text_config") LlamaConfig textConfig,
    @JsonProperty("vision_feature_layer") Integer visionFeatureLayer,
    @JsonProperty("vision_feature_select_strategy") String visionFeatureSelectStrategy,
    @JsonProperty("projector_hidden_act") String projectorHiddenAct,
    @JsonProperty("multimodal_projector_bias") Boolean multimodalProjectorBias,
    @JsonProperty("spatial_pool_mode") String spatialPoolMode,
    @JsonProperty("spatial_pool_stride") Integer spatialPoolStride,
    @JsonProperty("video_token_index") Integer videoTokenIndex,
    @JsonProperty("image_token_index") Integer imageTokenIndex,
    @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {

  public static final String MODEL_TYPE = "llava_next_video";

  /** Reads {@code dir/config.json} (or the file itself), applies HF's defaults and validates. */
  public static LlavaNextVideoConfig read(Path dirOrFile) {
    return ConfigFiles.read(dirOrFile, LlavaNextVideoConfig.class).resolved();
  }

  /** Writes this config as config.json into {@code dir}. */
  public void write(Path dir) {
    try {
      Files.createDirectories(dir);
      ConfigFiles.JSON
          .writerWithDefaultPrettyPrinter()
          .writeValue(dir.resolve("config.json").toFile(), this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public LlavaNextVideoConfig resolved() {
    FamilyConfigs.requireModelType(modelType, MODEL_TYPE);
    ClipVisionConfig v =
        (visionConfig == null
                ? new ClipVisionConfig(
                    null, null, null, null, null, null, null, null, null, null, null)
                : visionConfig)
            .resolved();
    LlamaConfig t = FamilyConfigs.text(textConfig);
    LlavaNextVideoConfig c =
        new LlavaNextVideoConfig(
            MODEL_TYPE,
            v,
            t,
            LlamaConfig.orDefault(visionFeatureLayer, -2),
            visionFeatureSelectStrategy == null ? "default" : visionFeatureSelectStrategy,
            projectorHiddenAct == null ? "gelu" : projectorHiddenAct,
            multimodalProjectorBias == null || multimodalProjectorBias,
            spatialPoolMode == null ? "average" : spatialPoolMode,
            LlamaConfig.orDefault(spatialPoolStride, 2),
            LlamaConfig.orDefault(videoTokenIndex, 32000),
            LlamaConfig.orDefault(imageTokenIndex, 32001),
            tieWordEmbeddings != null && tieWordEmbeddings);
    LlamaConfig.require(
        "default".equals(c.visionFeatureSelectStrategy)
            || "full".equals(c.visionFeatureSelectStrategy),
        "vision_feature_select_strategy " + c.visionFeatureSelectStrategy + " is not supported");
    FamilyConfigs.requireGeluProjector(c.projectorHiddenAct);
    LlamaConfig.require(
        "average".equals(c.spatialPoolMode) || "max".equals(c.spatialPoolMode),
        "spatial_pool_mode " + c.spatialPoolMode + " is not supported");
    LlamaConfig.require(
        c.spatialPoolStride > 0 && v.gridSize() % c.spatialPoolStride == 0
            || c.spatialPoolStride > 0,
        "spatial_pool_stride must be positive");
    FamilyConfigs.requireFeatureLayer(c.visionFeatureLayer, v.numHiddenLayers());
    FamilyConfigs.requireTokenId("video_token_index", c.videoTokenIndex, t);
    return c;
  }

  /**
   * vision_feature_layer as an index into HF hidden_states (0 = embeddings, i = output of layer i).
   */
  public int visionHiddenStateIndex() {
    return FamilyConfigs.hiddenStateIndex(visionFeatureLayer, visionConfig.numHiddenLayers());
  }

  /**
   * Tokens per frame after the config's own spatial pooling: (grid / stride)^2, 144 for
   * LLaVA-NeXT-Video.
   */
  public int pooledGridSize() {
    return visionConfig.gridSize() / spatialPoolStride;
  }
}
