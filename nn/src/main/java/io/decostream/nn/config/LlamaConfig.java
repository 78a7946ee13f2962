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

  /** A copy with HF's LlamaConfig defaults filled in, validated. */
  public LlamaConfig resolved() {
    int hidden = orDefault(hiddenSize, 4096);
    int heads = orDefault(numAttentionHeads, 32);
    LlamaConfig c = new LlamaConfig(
        modelType == null ? "llama" : modelType,
        orDefault(vocabSize, 32000),
        hidden,
        orDefault(intermediateSize, 11008),
        orDefault(numHiddenLayers, 32),
        heads,
        orDefault(numKeyValueHeads, heads),
        headDim == null ? hidden / heads : headDim,
        hiddenAct == null ? "silu" : hiddenAct,
        orDefault(maxPositionEmbeddings, 2048),
        rmsNormEps == null ? 1e-6 : rmsNormEps,
        ropeTheta == null ? 10000.0 : ropeTheta,
        ropeScaling,
        attentionBias != null && attentionBias,
        tieWordEmbeddings != null && tieWordEmbeddings,
        orDefault(bosTokenId, 1),
        eosTokenId == null ? 2 : eosTokenId,
        padTokenId);
    c.validate();
    return c;
  }

  private void validate() {
    require(hiddenSize > 0 && numHiddenLayers > 0 && vocabSize > 0 && intermediateSize > 0,
        "sizes must be positive");
    require(numAttentionHeads > 0 && numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0,
        "num_attention_heads must be a multiple of num_key_value_heads");
    require(headDim % 2 == 0, "head_dim must be even for RoPE");
    require("silu".equals(hiddenAct), "hidden_act " + hiddenAct + " is not supported (silu only)");
    if (ropeScaling != null) {
      Object type = ropeScaling.getOrDefault("rope_type", ropeScaling.get("type"));
      require("linear".equals(type) || "default".equals(type),
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

  static int orDefault(Integer v, int d) {
    return v == null ? d : v;
  }

  static void require(boolean ok, String msg) {
    if (!ok) {
      throw new IllegalArgumentException("invalid config.json: " + msg);
    }
  }
}
