package io.decostream.nn.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.siglip.SiglipVisionConfig;
import io.decostream.nn.tokenizer.WordLevelTokenizerJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Small random packs of every LLaVA family (issue 23 point 3), in exact llava-hf format, so each
 * family runs through the pipeline in tests and the demo:
 *
 * <ul>
 *   <li>{@code llava_next_video}: {@link TinyPack#write(Path, TinyPack.Spec, long)}.
 *   <li>{@code llava} (LLaVA-1.5): the same CLIP tower and Llama as the tiny LLaVA-NeXT-Video pack
 *       (OLD published key layout), vicuna_v1 word-level tokenizer with BOS, {@code
 *       image_seq_length} grid², strategy "default".
 *   <li>{@code llava_onevision}: a SigLIP tower (patch bias, no CLS, no pre-norm), Qwen2 (q/k/v
 *       biases, tied embeddings), {@code image_newline}, NEW key layout ({@code model.*}); a ChatML
 *       word-level tokenizer ({@code <|endoftext|>}, {@code <|im_start|>}, {@code <|im_end|>}, no
 *       BOS; EOS {@code <|im_end|>}).
 * </ul>
 */
public final class TinyFamilies {
  private TinyFamilies() {}

  /** ChatML's own words (the system line, roles), as the Whitespace pre-tokenizer splits them. */
  static final String CHATML_WORDS = "you are a helpful assistant . system user";

  /** Writes a tiny pack of {@code family} into {@code outDir}; returns its family back. */
  public static ModelFamily write(Path outDir, ModelFamily family, TinyPack.Spec spec, long seed) {
    switch (family) {
      case LLAVA_NEXT_VIDEO -> TinyPack.write(outDir, spec, seed);
      case LLAVA -> writeLlava(outDir, spec, seed);
      case LLAVA_ONEVISION -> writeOnevision(outDir, spec, seed);
    }
    return ModelFamily.detect(outDir);
  }

  private static void writeLlava(Path outDir, TinyPack.Spec spec, long seed) {
    mkdirs(outDir);
    Map<String, Integer> vocab =
        WordLevelTokenizerJson.write(outDir.resolve("tokenizer.json"), TinyPack.vocabularyWords());
    int grid = spec.imageSize() / spec.patchSize();
    ObjectNode c = json().createObjectNode();
    c.put("model_type", "llava");
    c.putArray("architectures").add("LlavaForConditionalGeneration");
    c.set("vision_config", json().valueToTree(clip(spec)));
    c.set("text_config", json().valueToTree(llama(spec, vocab)));
    c.put("vision_feature_layer", spec.visionFeatureLayer());
    c.put("vision_feature_select_strategy", "default");
    c.put("projector_hidden_act", "gelu");
    c.put("image_token_index", vocab.get(WordLevelTokenizerJson.IMAGE));
    c.put("image_seq_length", grid * grid);
    c.put("tie_word_embeddings", false);
    c.put("torch_dtype", "float32");
    TinyPack.writeJson(outDir.resolve("config.json"), c);
    TinyPack.writeJson(
        outDir.resolve("generation_config.json"),
        Map.of(
            "bos_token_id", vocab.get(WordLevelTokenizerJson.BOS),
            "eos_token_id", vocab.get(WordLevelTokenizerJson.EOS),
            "pad_token_id", vocab.get(WordLevelTokenizerJson.PAD)));
    ObjectNode pre = TinyPack.preprocessorConfig(spec);
    pre.put("processor_class", "LlavaProcessor");
    TinyPack.writeJson(outDir.resolve("preprocessor_config.json"), pre);
    // LLaVA-1.5's published checkpoints use the same OLD key names as LLaVA-NeXT-Video's
    TinyPack.writeWeights(
        outDir.resolve("model.safetensors"), spec, TinyPack.weightShapes(spec, vocab.size()), seed);
  }

  private static void writeOnevision(Path outDir, TinyPack.Spec spec, long seed) {
    mkdirs(outDir);
    List<String> words = new ArrayList<>(List.of(CHATML_WORDS.split(" ")));
    words.addAll(TinyPack.vocabularyWords());
    Map<String, Integer> vocab =
        WordLevelTokenizerJson.writeChatml(outDir.resolve("tokenizer.json"), words);
    int imEnd = vocab.get(WordLevelTokenizerJson.IM_END);
    ObjectNode text = json().valueToTree(qwen2(spec, vocab.size(), imEnd));
    ObjectNode c = json().createObjectNode();
    c.put("model_type", "llava_onevision");
    c.putArray("architectures").add("LlavaOnevisionForConditionalGeneration");
    c.set("vision_config", json().valueToTree(siglip(spec)));
    c.set("text_config", text);
    c.put("vision_feature_layer", -1);
    c.put("vision_feature_select_strategy", "full");
    c.put("projector_hidden_act", "gelu");
    c.put("image_token_index", vocab.get(WordLevelTokenizerJson.IMAGE));
    c.put("video_token_index", vocab.get(WordLevelTokenizerJson.VIDEO));
    c.put("vision_aspect_ratio", "anyres_max_9");
    c.put("tie_word_embeddings", true);
    c.put("torch_dtype", "float32");
    TinyPack.writeJson(outDir.resolve("config.json"), c);
    Map<String, Object> gen = new LinkedHashMap<>();
    gen.put("eos_token_id", imEnd);
    gen.put("pad_token_id", vocab.get(WordLevelTokenizerJson.ENDOFTEXT));
    TinyPack.writeJson(outDir.resolve("generation_config.json"), gen);
    TinyPack.writeWeights(
        outDir.resolve("model.safetensors"), spec, onevisionShapes(spec, vocab.size()), seed);
  }

  private static ClipVisionConfig clip(TinyPack.Spec s) {
    return new ClipVisionConfig(
        "clip_vision_model",
        s.visionHidden(),
        s.visionIntermediate(),
        s.visionLayers(),
        s.visionHeads(),
        3,
        s.imageSize(),
        s.patchSize(),
        "quick_gelu",
        1e-5,
        768);
  }

  private static SiglipVisionConfig siglip(TinyPack.Spec s) {
    return new SiglipVisionConfig(
        "siglip_vision_model",
        s.visionHidden(),
        s.visionIntermediate(),
        s.visionLayers(),
        s.visionHeads(),
        3,
        s.imageSize(),
        s.patchSize(),
        "gelu_pytorch_tanh",
        1e-6);
  }

  private static LlamaConfig llama(TinyPack.Spec s, Map<String, Integer> vocab) {
    return new LlamaConfig(
        "llama",
        vocab.size(),
        s.textHidden(),
        s.textIntermediate(),
        s.textLayers(),
        s.textHeads(),
        s.textKvHeads(),
        s.textHidden() / s.textHeads(),
        "silu",
        s.maxPositionEmbeddings(),
        1e-5,
        s.ropeTheta(),
        null,
        false,
        false,
        vocab.get(WordLevelTokenizerJson.BOS),
        vocab.get(WordLevelTokenizerJson.EOS),
        vocab.get(WordLevelTokenizerJson.PAD));
  }

  private static LlamaConfig qwen2(TinyPack.Spec s, int vocabSize, int eos) {
    return new LlamaConfig(
        "qwen2",
        vocabSize,
        s.textHidden(),
        s.textIntermediate(),
        s.textLayers(),
        s.textHeads(),
        s.textKvHeads(),
        s.textHidden() / s.textHeads(),
        "silu",
        s.maxPositionEmbeddings(),
        1e-6,
        1000000.0,
        null,
        true,
        true,
        null,
        eos,
        null);
  }

  /** SigLIP + projector + Qwen2 + image_newline, NEW llava-hf layout, tied lm_head. */
  static LinkedHashMap<String, long[]> onevisionShapes(TinyPack.Spec s, int vocabSize) {
    LinkedHashMap<String, long[]> w = new LinkedHashMap<>();
    long dv = s.visionHidden();
    long iv = s.visionIntermediate();
    long g = s.imageSize() / s.patchSize();
    String v = "model.vision_tower.vision_model.";
    w.put(
        v + "embeddings.patch_embedding.weight", new long[] {dv, 3, s.patchSize(), s.patchSize()});
    w.put(v + "embeddings.patch_embedding.bias", new long[] {dv});
    w.put(v + "embeddings.position_embedding.weight", new long[] {g * g, dv});
    for (int l = 0; l < s.visionLayers(); l++) {
      String p = v + "encoder.layers." + l + ".";
      for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
        w.put(p + "self_attn." + proj + ".weight", new long[] {dv, dv});
        w.put(p + "self_attn." + proj + ".bias", new long[] {dv});
      }
      for (String ln : List.of("layer_norm1", "layer_norm2")) {
        w.put(p + ln + ".weight", new long[] {dv});
        w.put(p + ln + ".bias", new long[] {dv});
      }
      w.put(p + "mlp.fc1.weight", new long[] {iv, dv});
      w.put(p + "mlp.fc1.bias", new long[] {iv});
      w.put(p + "mlp.fc2.weight", new long[] {dv, iv});
      w.put(p + "mlp.fc2.bias", new long[] {dv});
    }
    w.put(v + "post_layernorm.weight", new long[] {dv});
    w.put(v + "post_layernorm.bias", new long[] {dv});
    long dt = s.textHidden();
    long it = s.textIntermediate();
    long kv = dt / s.textHeads() * s.textKvHeads();
    w.put("model.multi_modal_projector.linear_1.weight", new long[] {dt, dv});
    w.put("model.multi_modal_projector.linear_1.bias", new long[] {dt});
    w.put("model.multi_modal_projector.linear_2.weight", new long[] {dt, dt});
    w.put("model.multi_modal_projector.linear_2.bias", new long[] {dt});
    String lm = "model.language_model.";
    w.put(lm + "embed_tokens.weight", new long[] {vocabSize, dt});
    for (int l = 0; l < s.textLayers(); l++) {
      String p = lm + "layers." + l + ".";
      w.put(p + "input_layernorm.weight", new long[] {dt});
      w.put(p + "self_attn.q_proj.weight", new long[] {dt, dt});
      w.put(p + "self_attn.q_proj.bias", new long[] {dt});
      w.put(p + "self_attn.k_proj.weight", new long[] {kv, dt});
      w.put(p + "self_attn.k_proj.bias", new long[] {kv});
      w.put(p + "self_attn.v_proj.weight", new long[] {kv, dt});
      w.put(p + "self_attn.v_proj.bias", new long[] {kv});
      w.put(p + "self_attn.o_proj.weight", new long[] {dt, dt});
      w.put(p + "post_attention_layernorm.weight", new long[] {dt});
      w.put(p + "mlp.gate_proj.weight", new long[] {it, dt});
      w.put(p + "mlp.up_proj.weight", new long[] {it, dt});
      w.put(p + "mlp.down_proj.weight", new long[] {dt, it});
    }
    w.put(lm + "norm.weight", new long[] {dt});
    w.put("model.image_newline", new long[] {dt});
    return w;
  }

  private static ObjectMapper json() {
    return new ObjectMapper();
  }

  private static void mkdirs(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
