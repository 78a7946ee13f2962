package io.decostream.nn.llava.llava15;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.AnswerGrounding;
import io.decostream.nn.llava.DebugForward;
import io.decostream.nn.llava.DebugPass;
import io.decostream.nn.llava.FamilyModel;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.LanguageParts;
import io.decostream.nn.llava.LiveWindow;
import io.decostream.nn.llava.PackOpening;
import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.PromptTemplate;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.Precision;
import io.decostream.projector.TokenCompressor;
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
    return load(packDir, PackPart.ALL, Precision.F32);
  }

  /**
   * Loads the {@code part} a stage needs (the encoder VISION, the worker LANGUAGE); strict within
   * the loaded parts, and with ALL every tensor of the checkpoint must be used.
   */
  public static Llava load(Path packDir, PackPart part, Precision precision) {
    return PackOpening.open(
        packDir,
        LlavaConfig::read,
        (config, pack, opened) -> {
          // CLIP tower up to vision_feature_layer (spec §1.3); layers above it are bound but never
          // run
          PackOpening.Clip clip =
              part.vision()
                  ? PackOpening.clip(
                      pack,
                      config.visionConfig(),
                      config.visionHiddenStateIndex(),
                      config.dropsCls(),
                      opened)
                  : new PackOpening.Clip(null, null);
          LanguageParts lang =
              part.language()
                  ? LanguageParts.load(
                      packDir,
                      pack.weights(),
                      pack.keys(),
                      config.textConfig(),
                      config.visionConfig().hiddenSize(),
                      config.tieWordEmbeddings(),
                      IMAGE_PLACEHOLDER,
                      config.imageTokenIndex(),
                      precision,
                      opened)
                  : null;
          if (part == PackPart.ALL) {
            pack.weights().assertAllUsed();
          }
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
    requireLoaded(tower != null && language() != null, "generate", "ALL");
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

  // ------------------------------------------------------------------ stream face

  @Override
  public int visionGridSize() {
    return config.visionConfig().gridSize();
  }

  @Override
  public int visionHidden() {
    return config.visionConfig().hiddenSize();
  }

  @Override
  public int visionFeatureLayer() {
    return config.visionHiddenStateIndex();
  }

  /** The whole grid: LLaVA-1.5 itself does not pool (576 rows per image, spec §3.1). */
  @Override
  public int defaultPooledGrid() {
    return visionGridSize();
  }

  /**
   * Any DeCo budget when the CLS token is dropped (the projector is per token, so pooling the patch
   * grid before it is DeCo's own step); none with strategy "full" (no square grid).
   */
  @Override
  public String compressorRefusal(TokenCompressor compressor) {
    return compressorRefusal(config, packDir(), compressor);
  }

  /** {@link #compressorRefusal(TokenCompressor)} from the pack's config alone (no weights). */
  public static String compressorRefusal(
      LlavaConfig config, Path packDir, TokenCompressor compressor) {
    if (!config.dropsCls()) {
      return "llava pack "
          + packDir
          + " keeps the CLS token (vision_feature_select_strategy '"
          + config.visionFeatureSelectStrategy()
          + "'): its features are no square grid to pool with "
          + compressor.spec();
    }
    return null;
  }

  /** CLIP preprocessing and tower, CLS dropped: per image {@code [grid² * Dv]} (spec §1.2–§1.3). */
  @Override
  public synchronized List<float[]> visionFeatures(List<RgbImage> frames) {
    requireLoaded(tower != null, "visionFeatures", "VISION");
    List<float[]> pixels = new ArrayList<>(frames.size());
    for (RgbImage f : frames) {
      pixels.add(processor.preprocess(Objects.requireNonNull(f, "frame")));
    }
    return pixels.isEmpty() ? List.of() : tower.features(pixels);
  }

  /**
   * Frames of {@code tokensPerFrame} rows each that fit, counting two text tokens per frame for the
   * "\n" between one {@code <image>} and the next (an upper bound; the prompt's own check is
   * exact).
   */
  @Override
  public int maxFrames(int tokensPerFrame, int reservedTextTokens) {
    if (tokensPerFrame < 1 || reservedTextTokens < 0) {
      throw new IllegalArgumentException(
          "tokensPerFrame must be >= 1 and reservedTextTokens >= 0, got "
              + tokensPerFrame
              + ", "
              + reservedTextTokens);
    }
    return Math.max(0, (contextLength() - reservedTextTokens) / (tokensPerFrame + 2));
  }

  /** vicuna_v1 with one {@code <image>} per frame, frames separated by "\n" (spec §4.5). */
  static String streamPrompt(int frames, String question) {
    String placeholders = (IMAGE_PLACEHOLDER + "\n").repeat(frames - 1) + IMAGE_PLACEHOLDER;
    return PromptTemplate.VICUNA_V1.render(
        placeholders, PromptTemplate.checkQuestion(question, IMAGE_PLACEHOLDER));
  }

  /**
   * Answers over the shipped rows (CLIP features, pooled by the encoder's budget or not): the
   * projector on every row (spec §3.1), each frame spliced in place of its own {@code <image>}.
   */
  @Override
  public synchronized GenerationResult generate(VideoPrompt prompt, GenerationOptions options) {
    requireLoaded(language() != null, "generate", "LANGUAGE");
    checkShippedRows(prompt, visionHidden());
    int f = prompt.frames().size();
    return generate(
        step -> language().project(step, prompt.frames()),
        streamPrompt(f, prompt.question()),
        IMAGE_PLACEHOLDER,
        f,
        options);
  }

  /** R-GAE over the F·M shipped rows (they are the spliced rows, one to one). */
  @Override
  public synchronized AnswerGrounding explain(VideoPrompt prompt, int[] generatedIds) {
    requireLoaded(language() != null, "explain", "LANGUAGE");
    checkShippedRows(prompt, visionHidden());
    int f = prompt.frames().size();
    return explain(
        step -> language().project(step, prompt.frames()),
        streamPrompt(f, prompt.question()),
        IMAGE_PLACEHOLDER,
        f,
        generatedIds);
  }

  /**
   * None: the "\n" between one frame's {@code <image>} and the next is no fixed prefix a window
   * could keep ({@link LiveWindow} holds one placeholder).
   */
  @Override
  public LiveWindow openLiveWindow(int tokensPerFrame, int maxFrames, int reservedTokens) {
    return null;
  }

  @Override
  public int visualTokens(int frames) {
    return frames * tokensPerImage();
  }

  @Override
  public synchronized void close() {
    if (language() != null) {
      language().close();
    }
    if (tower != null) {
      tower.close();
    }
    weights.close();
    manager().close();
  }
}
