package io.decostream.nn.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import io.decostream.nn.tokenizer.WordLevelTokenizerJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes a complete, small, random {@code llava_next_video} model pack in exact HF format, so the
 * whole pipeline (CLIP tower, pooling, projector, Llama, tokenizer, generation) runs in tests and
 * demos without downloading a real checkpoint:
 *
 * <pre>
 * config.json               LlavaNextVideoConfig (vision: clip_vision_model, text: llama)
 * model.safetensors         every weight, OLD published llava-hf key layout (vision_tower.vision_model.*,
 *                           multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight)
 * tokenizer.json            WordLevel tokenizer (WordLevelTokenizerJson) over the vicuna_v1 prompt words and
 *                           a few hundred common English words; &lt;video&gt;, &lt;image&gt; last
 * generation_config.json    bos/eos/pad ids
 * preprocessor_config.json  CLIPImageProcessor settings (shortest edge = crop = image size, CLIP mean/std)
 * </pre>
 *
 * Weights are N(0, std^2) from {@code java.util.Random(seed)} (deterministic), norm weights 1,
 * LayerNorm biases 0, linear biases N(0, std^2).
 */
public final class TinyPack {
  private TinyPack() {}

  /**
   * Sizes of a tiny pack. The vision grid keeps the real 336/14 = 24x24 = 576 patches so pooling
   * and token counts match LLaVA-NeXT-Video (144 tokens per frame after the 2x2 pool).
   */
  public record Spec(
      int imageSize,
      int patchSize,
      int visionHidden,
      int visionIntermediate,
      int visionLayers,
      int visionHeads,
      int textHidden,
      int textIntermediate,
      int textLayers,
      int textHeads,
      int textKvHeads,
      int maxPositionEmbeddings,
      double ropeTheta,
      int visionFeatureLayer,
      int spatialPoolStride,
      DType dtype,
      double std) {

    public Spec {
      if (imageSize <= 0 || patchSize <= 0 || imageSize % patchSize != 0) {
        throw new IllegalArgumentException("image_size must be a positive multiple of patch_size");
      }
      if (visionHidden % visionHeads != 0
          || textHidden % textHeads != 0
          || textHeads % textKvHeads != 0) {
        throw new IllegalArgumentException("hidden sizes must divide by heads, heads by kv heads");
      }
      if ((textHidden / textHeads) % 2 != 0) {
        throw new IllegalArgumentException("text head_dim must be even (RoPE)");
      }
      if (visionLayers < 1
          || textLayers < 1
          || maxPositionEmbeddings < 1
          || spatialPoolStride < 1
          || !(std > 0)) {
        throw new IllegalArgumentException("layers, positions, stride and std must be positive");
      }
      if (!dtype.isReadableAsFloat()) {
        throw new IllegalArgumentException("dtype must be F32, F16 or BF16");
      }
    }

    /**
     * The default tiny pack: CLIP 336/14 (576 patches), hidden 64, 3 layers; Llama hidden 128, 2
     * layers, GQA 4/2.
     */
    public static Spec defaults() {
      return new Spec(
          336, 14, 64, 128, 3, 4, 128, 256, 2, 4, 2, 4096, 10000.0, -2, 2, DType.F32, 0.02);
    }

    /** A copy with another weight dtype (real packs ship F16/BF16). */
    public Spec withDtype(DType d) {
      return new Spec(
          imageSize,
          patchSize,
          visionHidden,
          visionIntermediate,
          visionLayers,
          visionHeads,
          textHidden,
          textIntermediate,
          textLayers,
          textHeads,
          textKvHeads,
          maxPositionEmbeddings,
          ropeTheta,
          visionFeatureLayer,
          spatialPoolStride,
          d,
          std);
    }
  }

  /**
   * The vicuna_v1 system prompt and role words (spec §4.5), as the Whitespace pre-tokenizer splits
   * them.
   */
  public static final String PROMPT_WORDS =
      "a chat between a curious user and an artificial intelligence assistant . "
          + "the assistant gives helpful , detailed , and polite answers to the user ' s questions user : assistant";

  /**
   * Common words for questions and answers about synthetic videos (colours, shapes, positions,
   * motion, counts).
   */
  public static final String COMMON_WORDS =
      String.join(
          " ",
          "red green blue yellow white purple black orange pink brown gray grey",
          "circle square triangle rectangle star line dot ball box",
          "top bottom left right center middle up down above below near far inside outside corner edge side",
          "one two three four five six seven eight nine ten zero first second third last",
          "yes no not is are was were be been am do does did can could will would should may might must",
          "moving moves move moved still static stops stop starts start appears appear disappears changes change",
          "the a an this that these those there here it its they them their he she his her we you i my your our",
          "what where which way how many much who whom whose why when",
          "shapes shape object objects color colors colour video frame frames scene image picture clip",
          "describe description and or but so if then than also only just very more most less some any all each every",
          "in on at of to from with by for about into over under through across toward towards around between",
          "big small large tiny bright dark light fast slow quickly slowly same different other another",
          "time second seconds minute end beginning while during after before again",
          "see shows show shown looks look like has have had contains contain there's",
          "background foreground screen camera person people man woman car cat dog tree sky water road",
          "count number total answer question sure correct wrong",
          "horizontally vertically diagonally clockwise counterclockwise direction position location",
          "grows shrinks bigger smaller rotates rotating spinning bouncing falls rises",
          "! ? ' \" ; ( ) - .");

  /** The tokenizer words of a tiny pack (prompt words, then common words), as pre-tokens. */
  public static List<String> vocabularyWords() {
    List<String> words = new ArrayList<>();
    for (String w : (PROMPT_WORDS + " " + COMMON_WORDS).split("\\s+")) {
      // split "there's" the way the Whitespace pre-tokenizer does: \w+ | [^\w\s]+
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\w+|[^\\w\\s]+").matcher(w);
      while (m.find()) {
        words.add(m.group());
      }
    }
    return words;
  }

  /** Writes the default tiny pack into {@code outDir}; returns its config (as read back). */
  public static LlavaNextVideoConfig write(Path outDir, long seed) {
    return write(outDir, Spec.defaults(), seed);
  }

  /**
   * Writes a tiny pack with the given sizes into {@code outDir}; returns its config (as read back).
   */
  public static LlavaNextVideoConfig write(Path outDir, Spec spec, long seed) {
    try {
      Files.createDirectories(outDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, Integer> vocab =
        WordLevelTokenizerJson.write(outDir.resolve("tokenizer.json"), vocabularyWords());
    int vocabSize = vocab.size();
    config(spec, vocab).write(outDir);
    addHfFields(outDir.resolve("config.json"), spec);

    writeWeights(outDir.resolve("model.safetensors"), spec, vocabSize, seed);
    writeJson(
        outDir.resolve("generation_config.json"),
        Map.of(
            "bos_token_id", vocab.get(WordLevelTokenizerJson.BOS),
            "eos_token_id", vocab.get(WordLevelTokenizerJson.EOS),
            "pad_token_id", vocab.get(WordLevelTokenizerJson.PAD),
            "_from_model_config", true));
    writeJson(outDir.resolve("preprocessor_config.json"), preprocessorConfig(spec));
    return LlavaNextVideoConfig.read(outDir);
  }

  /**
   * The pack's config.json: a CLIP vision tower and a Llama text model of the spec's sizes, with
   * the special token ids of the word-level vocabulary, as llava_next_video with average pooling.
   */
  private static LlavaNextVideoConfig config(Spec spec, Map<String, Integer> vocab) {
    ClipVisionConfig vision =
        new ClipVisionConfig(
            "clip_vision_model",
            spec.visionHidden(),
            spec.visionIntermediate(),
            spec.visionLayers(),
            spec.visionHeads(),
            3,
            spec.imageSize(),
            spec.patchSize(),
            "quick_gelu",
            1e-5,
            768);
    LlamaConfig text =
        new LlamaConfig(
            "llama",
            vocab.size(),
            spec.textHidden(),
            spec.textIntermediate(),
            spec.textLayers(),
            spec.textHeads(),
            spec.textKvHeads(),
            spec.textHidden() / spec.textHeads(),
            "silu",
            spec.maxPositionEmbeddings(),
            1e-5,
            spec.ropeTheta(),
            null,
            false,
            false,
            vocab.get(WordLevelTokenizerJson.BOS),
            vocab.get(WordLevelTokenizerJson.EOS),
            vocab.get(WordLevelTokenizerJson.PAD));
    return new LlavaNextVideoConfig(
            LlavaNextVideoConfig.MODEL_TYPE,
            vision,
            text,
            spec.visionFeatureLayer(),
            "default",
            "gelu",
            true,
            "average",
            spec.spatialPoolStride(),
            vocab.get(WordLevelTokenizerJson.VIDEO),
            vocab.get(WordLevelTokenizerJson.IMAGE),
            false)
        .resolved();
  }

  /** preprocessor_config.json as HF's LlavaNextVideoProcessor writes it for a square CLIP input. */
  static ObjectNode preprocessorConfig(Spec spec) {
    ClipImageProcessor p = ClipImageProcessor.square(spec.imageSize());
    ObjectNode pre = new ObjectMapper().createObjectNode();
    pre.put("image_processor_type", "CLIPImageProcessor");
    pre.put("processor_class", "LlavaNextVideoProcessor");
    pre.put("do_resize", true);
    pre.putObject("size").put("shortest_edge", p.shortestEdge());
    pre.put("resample", 3);
    pre.put("do_center_crop", true);
    pre.putObject("crop_size").put("height", p.cropHeight()).put("width", p.cropWidth());
    pre.put("do_rescale", true);
    pre.put("rescale_factor", p.rescaleFactor());
    pre.put("do_normalize", true);
    // OPENAI_CLIP_MEAN / OPENAI_CLIP_STD as HF writes them (spec §1.2)
    pre.putArray("image_mean").add(0.48145466).add(0.4578275).add(0.40821073);
    pre.putArray("image_std").add(0.26862954).add(0.26130258).add(0.27577711);
    pre.put("do_convert_rgb", true);
    return pre;
  }

  /** Adds the HF bookkeeping keys the record does not carry (architectures, torch_dtype). */
  private static void addHfFields(Path configJson, Spec spec) {
    ObjectMapper json = new ObjectMapper();
    try {
      ObjectNode root = (ObjectNode) json.readTree(configJson.toFile());
      root.putArray("architectures").add("LlavaNextVideoForConditionalGeneration");
      root.put(
          "torch_dtype",
          switch (spec.dtype()) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
          });
      json.writerWithDefaultPrettyPrinter().writeValue(configJson.toFile(), root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void writeJson(Path file, Object value) {
    try {
      new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(file.toFile(), value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * All weights with their shapes, OLD llava-hf layout, in a fixed order (the order they are drawn
   * in).
   */
  public static java.util.LinkedHashMap<String, long[]> weightShapes(Spec s, int vocabSize) {
    java.util.LinkedHashMap<String, long[]> w = new java.util.LinkedHashMap<>();
    long dv = s.visionHidden();
    long iv = s.visionIntermediate();
    long g = s.imageSize() / s.patchSize();
    String v = "vision_tower.vision_model.";
    w.put(v + "embeddings.class_embedding", new long[] {dv});
    w.put(
        v + "embeddings.patch_embedding.weight", new long[] {dv, 3, s.patchSize(), s.patchSize()});
    w.put(v + "embeddings.position_embedding.weight", new long[] {g * g + 1, dv});
    w.put(v + "pre_layrnorm.weight", new long[] {dv});
    w.put(v + "pre_layrnorm.bias", new long[] {dv});
    for (int l = 0; l < s.visionLayers(); l++) {
      String p = v + "encoder.layers." + l + ".";
      w.put(p + "layer_norm1.weight", new long[] {dv});
      w.put(p + "layer_norm1.bias", new long[] {dv});
      for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
        w.put(p + "self_attn." + proj + ".weight", new long[] {dv, dv});
        w.put(p + "self_attn." + proj + ".bias", new long[] {dv});
      }
      w.put(p + "layer_norm2.weight", new long[] {dv});
      w.put(p + "layer_norm2.bias", new long[] {dv});
      w.put(p + "mlp.fc1.weight", new long[] {iv, dv});
      w.put(p + "mlp.fc1.bias", new long[] {iv});
      w.put(p + "mlp.fc2.weight", new long[] {dv, iv});
      w.put(p + "mlp.fc2.bias", new long[] {dv});
    }
    w.put(v + "post_layernorm.weight", new long[] {dv});
    w.put(v + "post_layernorm.bias", new long[] {dv});

    long dt = s.textHidden();
    long it = s.textIntermediate();
    long hd = dt / s.textHeads();
    long kv = hd * s.textKvHeads();
    w.put("multi_modal_projector.linear_1.weight", new long[] {dt, dv});
    w.put("multi_modal_projector.linear_1.bias", new long[] {dt});
    w.put("multi_modal_projector.linear_2.weight", new long[] {dt, dt});
    w.put("multi_modal_projector.linear_2.bias", new long[] {dt});
    String lm = "language_model.model.";
    w.put(lm + "embed_tokens.weight", new long[] {vocabSize, dt});
    for (int l = 0; l < s.textLayers(); l++) {
      String p = lm + "layers." + l + ".";
      w.put(p + "input_layernorm.weight", new long[] {dt});
      w.put(p + "self_attn.q_proj.weight", new long[] {dt, dt});
      w.put(p + "self_attn.k_proj.weight", new long[] {kv, dt});
      w.put(p + "self_attn.v_proj.weight", new long[] {kv, dt});
      w.put(p + "self_attn.o_proj.weight", new long[] {dt, dt});
      w.put(p + "post_attention_layernorm.weight", new long[] {dt});
      w.put(p + "mlp.gate_proj.weight", new long[] {it, dt});
      w.put(p + "mlp.up_proj.weight", new long[] {it, dt});
      w.put(p + "mlp.down_proj.weight", new long[] {dt, it});
    }
    w.put(lm + "norm.weight", new long[] {dt});
    w.put("language_model.lm_head.weight", new long[] {vocabSize, dt});
    return w;
  }

  private static void writeWeights(Path file, Spec spec, int vocabSize, long seed) {
    writeWeights(file, spec, weightShapes(spec, vocabSize), seed);
  }

  /** Draws {@code shapes} in order (norm gains 1, LayerNorm biases 0, the rest N(0, std²)). */
  static void writeWeights(
      Path file, Spec spec, java.util.LinkedHashMap<String, long[]> shapes, long seed) {
    Random r = new Random(seed);
    SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      String name = e.getKey();
      long[] shape = e.getValue();
      int n = Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact));
      float[] data = new float[n];
      boolean norm =
          name.contains("layernorm") || name.contains("layer_norm") || name.endsWith("norm.weight");
      if (norm && name.endsWith(".weight")) {
        Arrays.fill(data, 1f); // LayerNorm / RMSNorm gains
      } else if (!(norm && name.endsWith(".bias"))) {
        for (int i = 0; i < n; i++) {
          data[i] = (float) (r.nextGaussian() * spec.std());
        }
      }
      w.add(name, spec.dtype(), shape, data);
    }
    w.write(file);
  }
}
