package io.decostream.nn.siglip;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * HF {@code SiglipVisionConfig} (a {@code siglip_vision_model} config.json, or the {@code
 * vision_config} of llava_onevision), bound to its config.json keys (spec §2). Missing keys take
 * HF's class defaults (SigLIP base/16-224; {@code layer_norm_eps} 1e-6, {@code hidden_act}
 * gelu_pytorch_tanh); the record is validated at construction.
 *
 * <p>For LLaVA-OneVision the checkpoint's {@code num_hidden_layers} is already 26 (the conversion
 * drops SigLIP's last layer, §2), so it is used as is.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SiglipVisionConfig(
    @JsonProperty("model_type") String modelType,
    @JsonProperty("hidden_size") Integer hiddenSize,
    @JsonProperty("intermediate_size") Integer intermediateSize,
    @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
    @JsonProperty("num_attention_heads") Integer numAttentionHeads,
    @JsonProperty("num_channels") Integer numChannels,
    @JsonProperty("image_size") Integer imageSize,
    @JsonProperty("patch_size") Integer patchSize,
    @JsonProperty("hidden_act") String hiddenAct,
    @JsonProperty("layer_norm_eps") Double layerNormEps) {

  /**
   * Activations this tower implements: the tanh approximation (§2) and, for completeness, exact
   * GELU.
   */
  public static final java.util.Set<String> SUPPORTED_ACTS =
      java.util.Set.of("gelu_pytorch_tanh", "gelu_new", "gelu");

  public SiglipVisionConfig {
    modelType = modelType == null ? "siglip_vision_model" : modelType;
    hiddenSize = orDefault(hiddenSize, 768);
    intermediateSize = orDefault(intermediateSize, 3072);
    numHiddenLayers = orDefault(numHiddenLayers, 12);
    numAttentionHeads = orDefault(numAttentionHeads, 12);
    numChannels = orDefault(numChannels, 3);
    imageSize = orDefault(imageSize, 224);
    patchSize = orDefault(patchSize, 16);
    hiddenAct = hiddenAct == null ? "gelu_pytorch_tanh" : hiddenAct;
    layerNormEps = layerNormEps == null ? 1e-6 : layerNormEps;
    require(
        "siglip_vision_model".equals(modelType) || "siglip".equals(modelType),
        "model_type " + modelType + " is not supported (siglip_vision_model)");
    require(
        hiddenSize > 0
            && intermediateSize > 0
            && numHiddenLayers > 0
            && numAttentionHeads > 0
            && numChannels > 0
            && imageSize > 0
            && patchSize > 0,
        "SigLIP sizes must be positive: "
            + sizes(
                hiddenSize,
                intermediateSize,
                numHiddenLayers,
                numAttentionHeads,
                numChannels,
                imageSize,
                patchSize));
    require(
        hiddenSize % numAttentionHeads == 0,
        "hidden_size "
            + hiddenSize
            + " is not divisible by num_attention_heads "
            + numAttentionHeads);
    // no divisibility check: 384 / 14 = 27.4 — the "valid" patch conv uses 27 x 14 = 378 pixels per
    // side and
    // drops the last 6 (§2), so the grid is floor(image_size / patch_size)
    require(
        imageSize >= patchSize,
        "image_size " + imageSize + " is smaller than patch_size " + patchSize);
    require(
        SUPPORTED_ACTS.contains(hiddenAct),
        "hidden_act " + hiddenAct + " is not supported " + SUPPORTED_ACTS);
    require(
        layerNormEps > 0 && Double.isFinite(layerNormEps),
        "layer_norm_eps must be positive, got " + layerNormEps);
  }

  /**
   * google/siglip-so400m-patch14-384 as LLaVA-OneVision uses it (§2): 26 layers, 1152/4304/16,
   * 384/14.
   */
  public static SiglipVisionConfig oneVisionSo400m() {
    return new SiglipVisionConfig(
        "siglip_vision_model", 1152, 4304, 26, 16, 3, 384, 14, "gelu_pytorch_tanh", 1e-6);
  }

  /**
   * Reads a config.json: a {@code siglip_vision_model} file, or a multimodal config whose {@code
   * vision_config} is one (llava_onevision). Accepts the directory or the file.
   */
  public static SiglipVisionConfig fromConfigJson(Path dirOrFile) {
    Path f = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("config.json") : dirOrFile;
    ObjectMapper om = new ObjectMapper();
    try {
      JsonNode n = om.readTree(f.toFile());
      if (n.has("vision_config")) {
        n = n.get("vision_config");
      }
      return om.treeToValue(n, SiglipVisionConfig.class);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read SigLIP config " + f + ": " + e.getMessage(), e);
    }
  }

  /**
   * Patches per side: floor(image_size / patch_size) (27 for 384/14; the conv drops the remainder).
   */
  public int gridSize() {
    return imageSize / patchSize;
  }

  /** Tokens (= positions) per image: gridSize² (729 for 384/14; SigLIP has no CLS). */
  public int numPatches() {
    return gridSize() * gridSize();
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  private static int orDefault(Integer v, int d) {
    return v == null ? d : v;
  }

  private static void require(boolean ok, String msg) {
    if (!ok) {
      throw new IllegalArgumentException("invalid SigLIP vision config: " + msg);
    }
  }

  private static String sizes(int... v) {
    return java.util.Arrays.toString(v);
  }
}
