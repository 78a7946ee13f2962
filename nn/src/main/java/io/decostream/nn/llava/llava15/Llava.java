package io.decostream.nn.llava.llava15;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.DebugForward;
import io.decostream.nn.llava.DebugPass;
import io.decostream.nn.llava.FamilyModel;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.LanguageParts;
import io.decostream.nn.llava.PackOpening;
import io.decostream.nn.llava.PromptTemplate;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.weights.CheckpointWeights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * llava-hf LLaVA-1.5 ({@code LlavaForConditionalGeneration}, model_type {@code llava}; spec §1,
 * §3.1, §4): CLIP hidden state {@code vision_feature_layer} (-2), CLS dropped ("default"), then
 * {@code mlp2x_gelu} on all 576 tokens of each image — no compression — spliced in place of {@code
 * image_token_index} placeholders, then Llama (Vicuna). Prompts use {@link
 * PromptTemplate#VICUNA_V1} with one {@code <image>} per image.
 *
 * <p>Frames of a video are fed as separate images (F x N rows). Loading is strict (every tensor
 * bound, both llava-hf key layouts). Calls are {@code synchronized}; use one instance per thread
 * for parallelism.
 */
public final class Llava extends FamilyModel {

  /** The image placeholder string of llava-hf tokenizers. */
  public static final String IMAGE_PLACEHOLDER = "<image>";

  private final LlavaConfig config;
  private final CheckpointWeights weights;
  private final ClipVisionTower tower;
  private final ClipImageProcessor processor;

  private Llava(
      Path packDir,
      LlavaConfig config,
      NDManager manager,
      CheckpointWeights weights,
      ClipVisionTower tower,
      ClipImageProcessor processor,
      LanguageParts lang) {
    super(
        new Geometry(
            packDir,
            config.modelType(),
            ModelFamily.LLAVA,
            config.textConfig(),
            config.visionConfig().imageSize(),
            config.visionConfig().numChannels(),
            config.imageTokenIndex()),
        manager,
        lang);
    this.config = config;
    this.weights = weights;
    this.tower = tower;
    this.processor = processor;
  }

  /**
   * Loads a whole llava pack; every tensor of the checkpoint must be used.
   *
   * @throws io.decostream.nn.weights.WeightException naming a missing, misshaped or unused weight
   * @throws IllegalArgumentException for an unreadable/unsupported config or an inconsistent
   *     tokenizer
   */
  public static Llava load(Path packDir) {
    return PackOpening.open(
        packDir,
        LlavaConfig::read,
        (config, pack, opened) -> {
          // CLIP tower up to vision_feature_layer (spec §1.3); layers above it are bound but never
          // run
          PackOpening.Clip clip =
              PackOpening.clip(
                  pack,
                  config.visionConfig(),
                  config.visionHiddenStateIndex(),
                  config.dropsCls(),
                  opened);
          LanguageParts lang =
              LanguageParts.load(
                  packDir,
                  pack.weights(),
                  pack.keys(),
                  config.textConfig(),
                  config.visionConfig().hiddenSize(),
                  config.tieWordEmbeddings(),
                  IMAGE_PLACEHOLDER,
                  config.imageTokenIndex(),
                  opened);
          pack.weights().assertAllUsed();
          return new Llava(
              packDir,
              config,
              pack.manager(),
              pack.weights(),
              clip.tower(),
              clip.processor(),
              lang);
        });
  }

  public LlavaConfig config() {
    return config;
  }

  /** Visual rows per image: grid² (576 for CLIP-L/14-336; +1 with strategy "full"). */
  public int tokensPerImage() {
    return config.imageSeqLength();
  }

  /**
   * Answers a question about images (or video frames fed as images) (spec §1.2, §3.1, §4.4–§4.5):
   * CLIP preprocessing and tower, projector on every token, the vicuna_v1 prompt with one {@code
   * <image>} per image, each expanded to {@link #tokensPerImage()} rows.
   */
  public synchronized GenerationResult generate(
      List<RgbImage> images, String question, GenerationOptions options) {
    Objects.requireNonNull(images, "images");
    Objects.requireNonNull(options, "options");
    if (images.isEmpty()) {
      throw new IllegalArgumentException("at least one image is needed");
    }
    PromptTemplate.checkQuestion(question, IMAGE_PLACEHOLDER);
    List<float[]> pixels = new ArrayList<>(images.size());
    for (RgbImage image : images) {
      pixels.add(processor.preprocess(Objects.requireNonNull(image, "image")));
    }
    String placeholders = (IMAGE_PLACEHOLDER + "\n").repeat(images.size() - 1) + IMAGE_PLACEHOLDER;
    return generate(
        step -> language().project(step, tower.features(pixels)), // every token (spec §3.1)
        PromptTemplate.VICUNA_V1.render(placeholders, question),
        IMAGE_PLACEHOLDER,
        images.size(),
        options);
  }

  /**
   * The debugging pass (HF {@code LlavaForConditionalGeneration}): CLIP features of each image
   * (strategy applied), no pooling ({@code pooled_features} = {@code vision_features}), projector,
   * splice in place of the {@code image_token_index} placeholders in order, all logits, greedy ids.
   */
  @Override
  public synchronized DebugForward forwardDebug(
      float[] pixels, int frames, int[] inputIds, int newTokens, boolean grounding) {
    Objects.requireNonNull(pixels, "pixels");
    Objects.requireNonNull(inputIds, "inputIds");
    return debugPass(
        tower::features, this::debugRows, pixels, frames, inputIds, newTokens, grounding);
  }

  /**
   * No pooling ({@code pooled_features} = {@code vision_features}), the projector on every token;
   * Query-to-Patch is the identity (spec §3.1, §7.6).
   */
  private DebugPass.Visual debugRows(NDManager step, List<float[]> feats) {
    int frames = feats.size();
    int n = tokensPerImage();
    NDArray rows = language().project(step, feats);
    return new DebugPass.Visual(
        rows,
        LanguageParts.concat(feats),
        new long[] {frames, n, config.visionConfig().hiddenSize()},
        rows.toFloatArray(),
        new long[] {frames, n, config.textConfig().hiddenSize()},
        frames * n,
        () -> Collections.nCopies(frames, QueryToPatch.identity(n)));
  }

  @Override
  public int visualTokens(int frames) {
    return frames * tokensPerImage();
  }

  @Override
  public synchronized void close() {
    language().close();
    tower.close();
    weights.close();
    manager().close();
  }
}
