package io.decostream.nn.llava.onevision;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
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
import io.decostream.nn.siglip.SiglipImageProcessor;
import io.decostream.nn.siglip.SiglipVisionTower;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.LlavaKeys;
import io.decostream.nn.weights.Precision;
import io.decostream.nn.weights.WeightException;
import io.decostream.projector.Bilinear2d;
import io.decostream.projector.TokenCompressor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * llava-hf LLaVA-OneVision video path ({@code LlavaOnevisionForConditionalGeneration}, model_type
 * {@code llava_onevision}; spec §2, §3.4, §4): SigLIP hidden state {@code vision_feature_layer}
 * (-1, before post_layernorm), all tokens ("full"), then the projector on every token, THEN
 * bilinear pooling of each frame's grid to ceil(grid/2)² (27→14: 196 rows), frames concatenated,
 * and ONE {@code image_newline} row appended per video. Qwen2 decoder (q/k/v biases, usually tied
 * embeddings). Prompts use {@link PromptTemplate#CHATML} with a {@code <video>} placeholder
 * expanded to F·M+1 rows.
 *
 * <p>Images (anyres tiling) are out of scope; a single image can be fed as a one-frame video.
 */
public final class LlavaOnevision extends FamilyModel {

  /** The video placeholder of llava-hf OneVision tokenizers. */
  public static final String VIDEO_PLACEHOLDER = "<video>";

  private final LlavaOnevisionConfig config;
  private final CheckpointWeights weights;
  private final SiglipVisionTower tower;
  private final SiglipImageProcessor processor;
  private final NDArray imageNewline;

  private LlavaOnevision(
      Path packDir,
      LlavaOnevisionConfig config,
      NDManager manager,
      CheckpointWeights weights,
      SiglipVisionTower tower,
      SiglipImageProcessor processor,
      NDArray imageNewline,
      LanguageParts lang) {
    super(
        new Geometry(
            packDir,
            config.modelType(),
            ModelFamily.LLAVA_ONEVISION,
            config.textConfig(),
            config.visionConfig().imageSize(),
            config.visionConfig().numChannels(),
            config.videoTokenIndex()),
        manager,
        lang);
    this.config = config;
    this.weights = weights;
    this.tower = tower;
    this.processor = processor;
    this.imageNewline = imageNewline;
  }

  /**
   * Loads a whole llava_onevision pack; every tensor of the checkpoint must be used.
   *
   * @throws WeightException naming a missing, misshaped or unused weight
   * @throws IllegalArgumentException for an unreadable/unsupported config or an inconsistent
   *     tokenizer
   */
  public static LlavaOnevision load(Path packDir) {
    return load(packDir, PackPart.ALL, Precision.F32);
  }

  /**
   * Loads the {@code part} a stage needs: VISION is the SigLIP tower and processor (the encoder),
   * LANGUAGE the projector, {@code image_newline}, decoder and tokenizer (the worker); strict
   * within the loaded parts, and with ALL every tensor of the checkpoint must be used.
   */
  public static LlavaOnevision load(Path packDir, PackPart part, Precision precision) {
    return PackOpening.open(
        packDir,
        LlavaOnevisionConfig::read,
        (config, pack, opened) -> {
          CheckpointWeights weights = pack.weights();
          SiglipVisionTower tower = part.vision() ? tower(packDir, config, pack, opened) : null;
          SiglipImageProcessor processor = part.vision() ? processor(packDir, config) : null;
          LanguageParts lang = null;
          NDArray newline = null;
          if (part.language()) {
            lang =
                LanguageParts.load(
                    packDir,
                    weights,
                    pack.keys(),
                    config.textConfig(),
                    config.visionConfig().hiddenSize(),
                    config.tieWordEmbeddings(),
                    VIDEO_PLACEHOLDER,
                    config.videoTokenIndex(),
                    precision,
                    opened);
            newline = imageNewline(pack, config.textConfig().hiddenSize());
          }
          if (part == PackPart.ALL) {
            weights.assertAllUsed();
          }
          return new LlavaOnevision(
              packDir, config, pack.manager(), weights, tower, processor, newline, lang);
        });
  }

  private static SiglipVisionTower tower(
      Path packDir,
      LlavaOnevisionConfig config,
      PackOpening.Opened pack,
      List<AutoCloseable> opened) {
    SiglipVisionTower tower =
        new SiglipVisionTower(
            pack.weights().scoped(pack.keys().visionPrefix()),
            config.visionConfig(),
            config.visionHiddenStateIndex());
    opened.add(0, tower);
    pack.weights().scoped(pack.keys().visionTowerPrefix()).assertAllUsed();
    return tower;
  }

  private static SiglipImageProcessor processor(Path packDir, LlavaOnevisionConfig config) {
    int size = config.visionConfig().imageSize();
    SiglipImageProcessor processor =
        Files.isRegularFile(packDir.resolve("preprocessor_config.json"))
            ? SiglipImageProcessor.fromPreprocessorConfig(packDir)
            : SiglipImageProcessor.square(size);
    PackOpening.checkImageSize("resizes", processor.width(), processor.height(), size);
    return processor;
  }

  /**
   * image_newline [Dt]: top-level in the published files, model.image_newline in the new layout
   * (spec §3.4).
   */
  private static NDArray imageNewline(PackOpening.Opened pack, int dt) {
    String name =
        pack.keys().layout() == LlavaKeys.Layout.OLD ? "image_newline" : "model.image_newline";
    if (!pack.weights().has(name)) {
      throw new WeightException(
          "missing weight '" + name + "' (LLaVA-OneVision appends it to every video)");
    }
    return pack.weights().bind(name, dt);
  }

  public LlavaOnevisionConfig config() {
    return config;
  }

  /**
   * The rows of one video (spec §3.4): projector on the F x N SigLIP tokens, bilinear pooling of
   * each frame's grid x grid to p x p, frames concatenated, then the {@code image_newline} row.
   * Returns {projected [F*N, Dt], pooled [F*M, Dt], rows [F*M+1, Dt]}, all on {@code step}.
   */
  private NDArray[] videoRows(NDManager step, List<float[]> features) {
    int f = features.size();
    int dv = config.visionConfig().hiddenSize();
    int dt = config.textConfig().hiddenSize();
    int g = config.gridSize();
    int p = config.pooledGridSize();
    int n = g * g;
    // projector BEFORE pooling (OneVision order, unlike LLaVA-NeXT-Video)
    NDArray projected = language().project(step, features); // [F*N, Dt]
    float[] proj = projected.toFloatArray();
    // bilinear, align_corners=False, no antialias, per frame (exact torch CPU arithmetic,
    // Bilinear2d)
    float[] pooled = new float[f * p * p * dt];
    for (int i = 0; i < f; i++) {
      float[] one = java.util.Arrays.copyOfRange(proj, i * n * dt, (i + 1) * n * dt);
      System.arraycopy(
          Bilinear2d.interpolate(one, g, g, dt, p, p), 0, pooled, i * p * p * dt, p * p * dt);
    }
    NDArray pooledRows = step.create(pooled, new Shape((long) f * p * p, dt));
    NDArray rows = pooledRows.concat(imageNewline.reshape(1, dt), 0);
    return new NDArray[] {projected, pooledRows, rows};
  }

  /**
   * Answers a question about a video (spec §2, §3.4, §4.4–§4.5): SigLIP preprocessing and tower per
   * frame, the video rows, the ChatML prompt with one {@code <video>} expanded to F·M+1 rows.
   */
  public synchronized GenerationResult generate(
      List<RgbImage> frames, String question, GenerationOptions options) {
    requireLoaded(tower != null && language() != null, "generate", "ALL");
    Objects.requireNonNull(frames, "frames");
    Objects.requireNonNull(options, "options");
    if (frames.isEmpty()) {
      throw new IllegalArgumentException("at least one frame is needed");
    }
    PromptTemplate.checkQuestion(question, VIDEO_PLACEHOLDER);
    List<float[]> pixels = new ArrayList<>(frames.size());
    for (RgbImage frame : frames) {
      pixels.add(processor.preprocess(Objects.requireNonNull(frame, "frame")));
    }
    return generate(
        step -> videoRows(step, tower.features(pixels))[2],
        PromptTemplate.CHATML.render(VIDEO_PLACEHOLDER, question),
        VIDEO_PLACEHOLDER,
        1,
        options);
  }

  /**
   * The debugging pass (HF {@code LlavaOnevisionForConditionalGeneration} with {@code
   * pixel_values_videos}): vision_features [F,N,Dv], projected_features [F,N,Dt] (projector first),
   * pooled_features [F,M,Dt] (then bilinear), splice of the F·M pooled rows + image_newline, all
   * logits, greedy ids.
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
   * The video rows; R-GAE explains the F*M pooled rows (the image_newline row is not a frame's
   * token), whose bilinear weights map them to patches (spec §3.4, §7.6).
   */
  private DebugPass.Visual debugRows(NDManager step, List<float[]> feats) {
    int frames = feats.size();
    int g = config.gridSize();
    int p = config.pooledGridSize();
    int dt = config.textConfig().hiddenSize();
    NDArray[] r = videoRows(step, feats);
    return new DebugPass.Visual(
        r[2],
        r[1].toFloatArray(),
        new long[] {frames, p * p, dt},
        r[0].toFloatArray(),
        new long[] {frames, g * g, dt},
        frames * p * p,
        () -> Collections.nCopies(frames, QueryToPatch.bilinear(g, g, p, p)));
  }

  // ------------------------------------------------------------------ stream face

  @Override
  public int visionGridSize() {
    return config.gridSize();
  }

  @Override
  public int visionHidden() {
    return config.visionConfig().hiddenSize();
  }

  @Override
  public int visionFeatureLayer() {
    return config.visionHiddenStateIndex();
  }

  /** The whole SigLIP grid: this family pools after its projector, in the worker (spec §3.4). */
  @Override
  public int defaultPooledGrid() {
    return visionGridSize();
  }

  /**
   * Only the identity: OneVision's projector runs on every SigLIP token and the bilinear pooling
   * acts on the projected rows (spec §3.4); pooling before the projector is another model.
   */
  @Override
  public String compressorRefusal(TokenCompressor compressor) {
    return compressorRefusal(config, compressor);
  }

  /** {@link #compressorRefusal(TokenCompressor)} from the pack's config alone (no weights). */
  public static String compressorRefusal(LlavaOnevisionConfig config, TokenCompressor compressor) {
    int g = config.gridSize();
    boolean identity = compressor.isAnyGrid() || (compressor.outH() == g && compressor.outW() == g);
    if (identity) {
      return null;
    }
    return "llava_onevision pools after its projector (bilinear "
        + g
        + "x"
        + g
        + " -> "
        + config.pooledGridSize()
        + "x"
        + config.pooledGridSize()
        + " on projected rows, spec §3.4), so the encoder must ship the whole SigLIP grid: compressor "
        + compressor.spec()
        + " is refused (use none)";
  }

  /** SigLIP preprocessing and tower, all tokens ("full"): per frame {@code [grid² * Dv]}. */
  @Override
  public synchronized List<float[]> visionFeatures(List<RgbImage> frames) {
    requireLoaded(tower != null, "visionFeatures", "VISION");
    List<float[]> pixels = new ArrayList<>(frames.size());
    for (RgbImage f : frames) {
      pixels.add(processor.preprocess(Objects.requireNonNull(f, "frame")));
    }
    return pixels.isEmpty() ? List.of() : tower.features(pixels);
  }

  /** Frames of the whole grid that fit: each takes ceil(grid/2)² rows, plus one image_newline. */
  @Override
  public int maxFrames(int tokensPerFrame, int reservedTextTokens) {
    checkShippedGrid(tokensPerFrame);
    int m = config.pooledGridSize() * config.pooledGridSize();
    return Math.max(0, (contextLength() - reservedTextTokens - 1) / m);
  }

  private void checkShippedGrid(int tokensPerFrame) {
    int g = visionGridSize();
    if (tokensPerFrame != g * g) {
      throw new IllegalArgumentException(
          "llava_onevision needs the whole "
              + g
              + "x"
              + g
              + " SigLIP grid per frame ("
              + g * g
              + " tokens), got "
              + tokensPerFrame);
    }
  }

  /**
   * Answers over the shipped SigLIP features: projector, bilinear pooling, image_newline (spec
   * §3.4), ChatML with one {@code <video>} expanded to F·M+1 rows.
   */
  @Override
  public synchronized GenerationResult generate(VideoPrompt prompt, GenerationOptions options) {
    requireLoaded(language() != null, "generate", "LANGUAGE");
    checkShippedGrid(prompt.tokensPerFrame());
    checkShippedRows(prompt, visionHidden());
    return generate(
        step -> videoRows(step, prompt.frames())[2],
        PromptTemplate.CHATML.render(
            VIDEO_PLACEHOLDER, PromptTemplate.checkQuestion(prompt.question(), VIDEO_PLACEHOLDER)),
        VIDEO_PLACEHOLDER,
        1,
        options);
  }

  /**
   * R-GAE of an answer, mapped back to the shipped grid (spec §7.6): the image_newline row is
   * dropped (no frame's token) and each frame's pooled rows go through the bilinear weights, so
   * every row is over F·grid² shipped tokens.
   */
  @Override
  public synchronized AnswerGrounding explain(VideoPrompt prompt, int[] generatedIds) {
    requireLoaded(language() != null, "explain", "LANGUAGE");
    checkShippedGrid(prompt.tokensPerFrame());
    checkShippedRows(prompt, visionHidden());
    AnswerGrounding g =
        explain(
            step -> videoRows(step, prompt.frames())[2],
            PromptTemplate.CHATML.render(
                VIDEO_PLACEHOLDER,
                PromptTemplate.checkQuestion(prompt.question(), VIDEO_PLACEHOLDER)),
            VIDEO_PLACEHOLDER,
            1,
            generatedIds);
    int frames = prompt.frames().size();
    float[][] ttq = new float[g.textToQuery().length][];
    for (int k = 0; k < ttq.length; k++) {
      ttq[k] = toShippedGrid(g.textToQuery()[k], frames);
    }
    float[][] perWord = new float[g.perWord().length][];
    for (int w = 0; w < perWord.length; w++) {
      perWord[w] = toShippedGrid(g.perWord()[w], frames);
    }
    return new AnswerGrounding(
        g.tokenIds(),
        g.tokens(),
        ttq,
        toShippedGrid(g.mean(), frames),
        g.words(),
        g.wordTokens(),
        perWord,
        g.millis());
  }

  /**
   * One relevance row over the F·M+1 video rows to one over the F·grid² shipped tokens: per frame
   * its M pooled values times the bilinear Query-to-Patch [M, grid²]; the image_newline value is
   * dropped.
   */
  float[] toShippedGrid(float[] row, int frames) {
    int g = visionGridSize();
    int p = config.pooledGridSize();
    QueryToPatch bilinear = QueryToPatch.bilinear(g, g, p, p);
    float[] out = new float[frames * g * g];
    for (int f = 0; f < frames; f++) {
      float[] pooled = java.util.Arrays.copyOfRange(row, f * p * p, (f + 1) * p * p);
      System.arraycopy(bilinear.apply(pooled), 0, out, f * g * g, g * g);
    }
    return out;
  }

  /**
   * None: the image_newline row follows the last frame, so frames cannot be appended after a
   * prefilled window.
   */
  @Override
  public LiveWindow openLiveWindow(int tokensPerFrame, int maxFrames, int reservedTokens) {
    return null;
  }

  /** F·ceil(grid/2)² + 1 (spec §3.4). */
  @Override
  public int visualTokens(int frames) {
    return config.videoTokens(frames);
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
