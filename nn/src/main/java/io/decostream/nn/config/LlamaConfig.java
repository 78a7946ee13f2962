package io.decostream.nn.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * HF {@code LlamaConfig} (the {@code text_config} of llava_next_video), bound to config.json keys.
 * Null fields take the defaults HF applies; {@link #resolved()} fills them and validates.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LlamaConfig(
    @JsonProperty("model_type") String modelType,
    @JsonProperty("vocab_size") Integer vocabSize,
    @JsonProperty("hidden_size") Integer hiddenSize,
    @JsonProperty("intermediate_size") Integer intermediateSize,
    @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
    @JsonProperty("num_attention_heads") Integer numAttentionHeads,
    @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
    @JsonProperty("head_dim") Integer headDim,
    @JsonProperty("hidden_act") String hiddenAct,
    @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
    @JsonProperty("rms_norm_eps") Double rmsNormEps,
    @JsonProperty("rope_theta") Double ropeTheta,
    @JsonProperty("rope_scaling") Map<String, Object> ropeScaling,
    @JsonProperty("attention_bias") Boolean attentionBias,
    @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings,
    @JsonProperty("bos_token_id") Integer bosTokenId,
    @JsonProperty("eos_token_id") Object eosTokenId,
    @JsonProperty("pad_token_id") Integer padTokenId) {

  /**
   * The text-model types this decoder implements: Llama (Vicuna, TinyLlama) and Qwen2 (spec
   * §4.1–§4.2).
   */
  public static final java.util.Set<String> SUPPORTED_TYPES = java.util.Set.of("llama", "qwen2");

  /**
   * A copy with HF's defaults filled in, validated. Defaults follow the model type's HF config
   * class: {@code LlamaConfig} for "llama" (or no type), {@code Qwen2Config} for "qwen2". Qwen2
   * always has q/k/v biases (o_proj none) whatever {@code attention_bias} says, because HF's
   * Qwen2Attention hard-codes them.
   */
  public LlamaConfig resolved() {
    String type = modelType == null ? "llama" : modelType;
    require(
        SUPPORTED_TYPES.contains(type),
        "text model_type " + type + " is not supported " + SUPPORTED_TYPES);
    boolean qwen2 = "qwen2".equals(type);
    int hidden = orDefault(hiddenSize, 4096);
    int heads = orDefault(numAttentionHeads, 32);
    LlamaConfig c =
        new LlamaConfig(
            type,
            orDefault(vocabSize, qwen2 ? 151936 : 32000),
            hidden,
            orDefault(intermediateSize, qwen2 ? 22016 : 11008),
            orDefault(numHiddenLayers, 32),
            heads,
            orDefault(numKeyValueHeads, heads),
            headDim == null ? hidden / heads : headDim,
            hiddenAct == null ? "silu" : hiddenAct,
            orDefault(maxPositionEmbeddings, qwen2 ? 32768 : 2048),
            rmsNormEps == null ? 1e-6 : rmsNormEps,
            ropeTheta == null ? 10000.0 : ropeTheta,
            ropeScaling,
            qwen2 || attentionBias != null && attentionBias,
            tieWordEmbeddings != null && tieWordEmbeddings,
            qwen2 ? bosTokenId : (Integer) orDefault(bosTokenId, 1),
            eosTokenId == null ? (qwen2 ? null : (Object) 2) : eosTokenId,
            padTokenId);
    c.validate();
    return c;
  }

  private void validate() {
    require(
        hiddenSize > 0 && numHiddenLayers > 0 && vocabSize > 0 && intermediateSize > 0,
        "sizes must be positive");
    require(
        numAttentionHeads > 0 && numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0,
        "num_attention_heads must be a multiple of num_key_value_heads");
    require(headDim % 2 == 0, "head_dim must be even for RoPE");
    require("silu".equals(hiddenAct), "hidden_act " + hiddenAct + " is not supported (silu only)");
    if (ropeScaling != null) {
      Object type = ropeScaling.getOrDefault("rope_type", ropeScaling.get("type"));
      require(
          "linear".equals(type) || "default".equals(type),
          "rope_scaling type " + type + " is not supported (linear only)");
    }
  }

  /** Linear RoPE scaling factor (1 when none). */
  public double ropeScalingFactor() {
    if (ropeScaling == null) {
      return 1.0;
    }
    Object type = ropeScaling.getOrDefault("rope_type", ropeScaling.get("type"));
    if ("default".equals(type)) {
      return 1.0;
    }
    return ((Number) ropeScaling.get("factor")).doubleValue();
  }

  /** eos_token_id as a list (config.json may hold one id or several). */
  public List<Integer> eosTokenIds() {
    if (eosTokenId instanceof Number n) {
      return List.of(n.intValue());
    }
    if (eosTokenId instanceof List<?> l) {
      return l.stream().map(o -> ((Number) o).intValue()).toList();
    }
    return List.of();
  }

  public static int orDefault(Integer v, int d) {
    return v == null ? d : v;
  }

  public static void require(boolean ok, String msg) {
    if (!ok) {
      throw new IllegalArgumentException("invalid config.json: " + msg);
    }
  }
}
