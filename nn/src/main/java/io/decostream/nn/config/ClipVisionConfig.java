package io.decostream.nn.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * HF {@code CLIPVisionConfig} (the {@code vision_config} of llava_next_video), bound to config.json
 * keys.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ClipVisionConfig(
    @JsonProperty("model_type") String modelType,
    @JsonProperty("hidden_size") Integer hiddenSize,
    @JsonProperty("intermediate_size") Integer intermediateSize,
    @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
    @JsonProperty("num_attention_heads") Integer numAttentionHeads,
    @JsonProperty("num_channels") Integer numChannels,
    @JsonProperty("image_size") Integer imageSize,
    @JsonProperty("patch_size") Integer patchSize,
    @JsonProperty("hidden_act") String hiddenAct,
    @JsonProperty("layer_norm_eps") Double layerNormEps,
    @JsonProperty("projection_dim") Integer projectionDim) {

  /**
   * A copy with CLIPVisionConfig defaults (as llava_next_video applies them: CLIP-L/14-336) filled
   * in, validated.
   */
  public ClipVisionConfig resolved() {
    ClipVisionConfig c =
        new ClipVisionConfig(
            modelType == null ? "clip_vision_model" : modelType,
            LlamaConfig.orDefault(hiddenSize, 1024),
            LlamaConfig.orDefault(intermediateSize, 4096),
            LlamaConfig.orDefault(numHiddenLayers, 24),
            LlamaConfig.orDefault(numAttentionHeads, 16),
            LlamaConfig.orDefault(numChannels, 3),
            LlamaConfig.orDefault(imageSize, 336),
            LlamaConfig.orDefault(patchSize, 14),
            hiddenAct == null ? "quick_gelu" : hiddenAct,
            layerNormEps == null ? 1e-5 : layerNormEps,
            LlamaConfig.orDefault(projectionDim, 768));
    LlamaConfig.require(
        "clip_vision_model".equals(c.modelType) || "clip".equals(c.modelType),
        "vision_config.model_type " + c.modelType + " is not supported (clip_vision_model)");
    LlamaConfig.require(
        c.hiddenSize % c.numAttentionHeads == 0, "vision hidden_size must divide by heads");
    LlamaConfig.require(
        c.imageSize % c.patchSize == 0, "image_size must be a multiple of patch_size");
    LlamaConfig.require(
        "quick_gelu".equals(c.hiddenAct) || "gelu".equals(c.hiddenAct),
        "vision hidden_act " + c.hiddenAct + " is not supported");
    return c;
  }

  /** Patches per side: image_size / patch_size (24 for CLIP-L/14-336). */
  public int gridSize() {
    return imageSize / patchSize;
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }
}
