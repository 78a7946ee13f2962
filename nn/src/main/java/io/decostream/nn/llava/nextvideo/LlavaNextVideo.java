package io.decostream.nn.llava.nextvideo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
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
import io.decostream.nn.llava.PromptTemplate;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.weights.LlavaKeys;
import io.decostream.nn.weights.Precision;
import io.decostream.nn.weights.WeightException;
import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.PoolingMode;
import io.decostream.projector.TokenCompressor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The model facade stream code uses (design.md "Model facade"): a llava-hf LLaVA-NeXT-Video pack
 * ({@code config.json}, {@code *.safetensors}, {@code tokenizer.json}, optional {@code
 * generation_config.json} and {@code preprocessor_config.json}) behind plain-Java types only.
 *
 * <ul>
 *   <li>Vision side (spec §1, §3.3): {@link #visionFeatures} = CLIP preprocessing + the CLIP tower
 *       up to {@code vision_feature_layer}, CLS dropped; per frame {@code [grid^2 * Dv]}. Pooling
 *       to tokens-per-frame is the caller's (the projector module's {@code TokenCompressor}).
 *   <li>Language side (spec §3.3, §4.4, §4.5, §5): {@link #generate} builds the vicuna_v1 prompt,
 *       expands {@code <video>} into frames x tokensPerFrame rows, runs {@code
 *       multi_modal_projector} on the pooled features, splices them in place of the placeholders
 *       (HF style, frame-major, no separators), prefills a preallocated KV cache and decodes.
 * </ul>
 *
 * <p>Loading is strict: every tensor under the loaded parts' key prefixes must be bound with its
 * expected shape (a missing or misshaped weight fails naming it; an unused tensor fails too);
 * tensors of a part that is not loaded are ignored. Both llava-hf key layouts are accepted ({@link
 * LlavaKeys}).
 *
 * <p>Thread safety: {@link #visionFeatures} and {@link #generate} are {@code synchronized} (one
 * call at a time per instance; the native ops themselves use several cores). Use one instance per
 * worker thread for parallelism.
 */
public final class LlavaNextVideo extends FamilyModel {

  /** Which weights to load: the encoder stage needs only VISION, the LLM worker only LANGUAGE. */
  public enum Part {
    VISION,
    LANGUAGE,
    ALL;

    boolean vision() {
      return this != LANGUAGE;
    }

    boolean language() {
      return this != VISION;
    }
  }

  /** vicuna_v1 system line ([L15-CONV] conv_vicuna_v1, spec §4.5). */
  public static final String SYSTEM_PROMPT = PromptTemplate.VICUNA_SYSTEM;

  /** The video placeholder string of llava-hf LLaVA-NeXT-Video tokenizers. */
  public static final String VIDEO_PLACEHOLDER = "<video>";

  private final Part part;
  private final LlavaNextVideoConfig config;
  private final LlavaNextVideoPack pack;
  // vision side (null when not loaded)
  private final ClipVisionTower tower;
  private final ClipImageProcessor processor;

  private LlavaNextVideo(LlavaNextVideoPack pack) {
    super(
        new Geometry(
            pack.dir(),
            pack.config().modelType(),
            ModelFamily.LLAVA_NEXT_VIDEO,
            pack.config().textConfig(),
            pack.config().visionConfig().imageSize(),
            pack.config().visionConfig().numChannels(),
            pack.config().videoTokenIndex()),
        pack.manager(),
        pack.language());
    this.pack = pack;
    this.part = pack.part();
    this.config = pack.config();
    this.tower = pack.tower();
    this.processor = pack.processor();
  }

  /**
   * Loads the parts of a model pack through the one pack loader ({@link LlavaNextVideoPack}).
   *
   * @throws WeightException naming a missing, misshaped or unused weight
   * @throws IllegalArgumentException for an unreadable/unsupported config or an inconsistent
   *     tokenizer
   */
  public static LlavaNextVideo load(Path packDir, Part part) {
    return load(packDir, part, Precision.F32);
  }

  /**
   * As above, the decoder's weight matrices held at {@code precision} (issue 20 point 3: {@code
   * F16} halves the memory and the bytes each decoded token reads).
   */
  public static LlavaNextVideo load(Path packDir, Part part, Precision precision) {
    LlavaNextVideoPack pack = LlavaNextVideoPack.open(packDir, part, precision);
    try {
      return new LlavaNextVideo(pack);
    } catch (RuntimeException e) {
      LanguageParts.closeAll(List.of(pack), e);
      throw e;
    }
  }

  public LlavaNextVideoConfig config() {
    return config;
  }

  public Part part() {
    return part;
  }

  // ------------------------------------------------------------------ vision side

  /** Patches per side of the vision grid: image_size / patch_size (24 for CLIP-L/14-336). */
  @Override
  public int visionGridSize() {
    return config.visionConfig().gridSize();
  }

  /** Dv, the CLIP hidden size (1024 for CLIP-L). */
  @Override
  public int visionHidden() {
    return config.visionConfig().hiddenSize();
  }

  /** Resolved hidden_states index of vision_feature_layer (23 for -2 with 24 layers). */
  @Override
  public int visionFeatureLayer() {
    return config.visionHiddenStateIndex();
  }

  /** visionGridSize / spatial_pool_stride (12): the model's own pooled grid side. */
  @Override
  public int defaultPooledGrid() {
    return config.pooledGridSize();
  }

  /**
   * CLIP features of each frame (spec §1.2–§1.3): preprocessing, then the tower up to {@link
   * #visionFeatureLayer()}; CLS dropped for strategy "default". Per frame a {@code float[N * Dv]},
   * row-major tokens (token p = row * grid + col), N = grid^2 (+1 with strategy "full").
   */
  @Override
  public synchronized List<float[]> visionFeatures(List<RgbImage> frames) {
    requirePart(tower != null, "visionFeatures", "VISION");
    Objects.requireNonNull(frames, "frames");
    if (frames.isEmpty()) {
      return List.of();
    }
    List<float[]> pixels = new ArrayList<>(frames.size());
    for (int i = 0; i < frames.size(); i++) {
      RgbImage f = Objects.requireNonNull(frames.get(i), "frame " + i);
      pixels.add(processor.preprocess(f));
    }
    // the tower runs the frames in micro-batches (ClipVisionTower.FEATURE_BATCH) to bound peak
    // memory
    return tower.features(pixels);
  }

  /**
   * Any DeCo budget the encoder's validator accepts (spec §3.3: LLaVA-NeXT-Video's own pooler runs
   * before the projector, so pooling in the encoder is the model's own step); none when the CLS
   * token is kept (the features are then no square grid).
   */
  @Override
  public String compressorRefusal(TokenCompressor compressor) {
    return compressorRefusal(config, packDir(), compressor);
  }

  /** {@link #compressorRefusal(TokenCompressor)} from the pack's config alone (no weights). */
  public static String compressorRefusal(
      LlavaNextVideoConfig config, Path packDir, TokenCompressor compressor) {
    if (!"default".equals(config.visionFeatureSelectStrategy())) {
      return "llava_next_video pack "
          + packDir
          + " keeps the CLS token (vision_feature_select_strategy '"
          + config.visionFeatureSelectStrategy()
          + "'): its features are no square grid to pool with "
          + compressor.spec();
    }
    return null;
  }

  // ------------------------------------------------------------------ language side

  /**
   * How many frames of {@code tokensPerFrame} rows fit beside {@code reservedTextTokens}:
   * floor((ctx - reserved) / tpf).
   */
  @Override
  public int maxFrames(int tokensPerFrame, int reservedTextTokens) {
    if (tokensPerFrame < 1) {
      throw new IllegalArgumentException("tokensPerFrame must be >= 1, got " + tokensPerFrame);
    }
    if (reservedTextTokens < 0) {
      throw new IllegalArgumentException(
          "reservedTextTokens must be >= 0, got " + reservedTextTokens);
    }
    return Math.max(0, (contextLength() - reservedTextTokens) / tokensPerFrame);
  }

  /** The vicuna_v1 prompt with a single {@code <video>} placeholder (spec §4.5). */
  public static String promptText(String question) {
    return PromptTemplate.VICUNA_V1.render(VIDEO_PLACEHOLDER, question);
  }

  /**
   * Answers a question about a video (spec §3.3, §4.4–§4.5, §5).
   *
   * <p>The prompt string holds one {@code <video>} token; it is tokenized once (BOS added, no
   * truncation), then that single placeholder id is expanded to {@code frames x tokensPerFrame}
   * copies here (never by the tokenizer), and those rows' embeddings are replaced, in order, by the
   * projector output of the concatenated frames. This is what the HF processor + {@code
   * masked_scatter} produce.
   *
   * @throws IllegalArgumentException if a frame has the wrong size, the question contains the
   *     placeholder, or the prompt does not fit the context length
   */
  @Override
  public synchronized GenerationResult generate(VideoPrompt prompt, GenerationOptions options) {
    requirePart(language() != null, "generate", "LANGUAGE");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(options, "options");
    checkFrames(prompt);
    int m = prompt.tokensPerFrame();
    int visual = prompt.visualTokens();
    String text = promptText(PromptTemplate.checkQuestion(prompt.question(), VIDEO_PLACEHOLDER));
    int textTokens = language().tokenizer().encode(text, true).length - 1;
    long promptLen = (long) textTokens + visual;
    if (promptLen > contextLength()) {
      throw new IllegalArgumentException(
          "prompt of "
              + promptLen
              + " tokens ("
              + textTokens
              + " text + "
              + prompt.frames().size()
              + " frames x "
              + m
              + ") exceeds the context length "
              + contextLength()
              + "; at most "
              + maxFrames(m, textTokens)
              + " frames fit");
    }
    // the projector over all frames at once: [F*M, Dv] -> [F*M, Dt] (spec §3.3), spliced in place
    // of the one <video> token, frames in order, no separators (spec §4.4, HF style)
    return generate(
        step -> language().project(step, prompt.frames()), text, VIDEO_PLACEHOLDER, 1, options);
  }

  /**
   * A live window over this model's vicuna_v1 prompt (issue 20 point 1): BOS, the system line and
   * {@code "USER: "} are prefilled now; {@link LiveWindow#append} prefills each frame's projected
   * rows as it arrives, and {@link LiveWindow#answer} prefills only {@code "\n{question}
   * ASSISTANT:"} and decodes, giving the tokens {@link #generate} gives for the same frames and
   * question.
   *
   * <p>To measure time-to-first-token on an F-frame window: open with {@code maxFrames >= F},
   * append F frames, then time {@code answer(question, GenerationOptions.greedy(1))} (its {@code
   * prefillMillis} is the question's prefill alone).
   *
   * @param tokensPerFrame rows per frame (each appended frame holds tokensPerFrame x Dv values)
   * @param maxFrames the most frames the window will hold
   * @param reservedTokens room for question + answer tokens beyond the frames (the cache holds
   *     prefix + maxFrames x tokensPerFrame + reservedTokens positions, at most the context length)
   */
  @Override
  public LiveWindow openLiveWindow(int tokensPerFrame, int maxFrames, int reservedTokens) {
    requirePart(language() != null, "openLiveWindow", "LANGUAGE");
    return liveWindow(
        PromptTemplate.VICUNA_V1, VIDEO_PLACEHOLDER, tokensPerFrame, maxFrames, reservedTokens);
  }

  /**
   * R-GAE of an answer (issue 4, spec §7.1–§7.5, §7.8): rebuilds exactly the prompt {@link
   * #generate} answered (vicuna_v1, projector rows spliced in place of {@code <video>}), then for
   * each generated token t a tapped full forward over prompt + tokens before t, backward from t's
   * logit, and the raw Text-to-Query row over the F·M visual positions. One GradientCollector per
   * process: calls are serialised.
   *
   * @param generatedIds the tokens {@link #generate} returned for this prompt (EOS not included)
   */
  @Override
  public synchronized AnswerGrounding explain(VideoPrompt prompt, int[] generatedIds) {
    requirePart(language() != null, "explain", "LANGUAGE");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(generatedIds, "generatedIds");
    checkFrames(prompt);
    String text = promptText(PromptTemplate.checkQuestion(prompt.question(), VIDEO_PLACEHOLDER));
    return explain(
        step -> language().project(step, prompt.frames()),
        text,
        VIDEO_PLACEHOLDER,
        1,
        generatedIds);
  }

  /**
   * The debugging pass behind {@code deco model forward}: runs the whole model on
   * already-normalised pixels and already-expanded ids, exactly as HF {@code
   * LlavaNextVideoForConditionalGeneration} does, and returns every intermediate (see {@link
   * DebugForward}). Needs {@link Part#ALL}.
   *
   * <ol>
   *   <li>CLIP tower on each frame up to {@code vision_feature_layer}, CLS dropped (spec §1.3).
   *   <li>HF {@code LlavaNextVideoPooler} (spec §3.3): {@code AvgPool2d}/{@code MaxPool2d(stride,
   *       stride)} on the grid x grid CLIP features, BEFORE the projector. With grid divisible by
   *       stride this equals adaptive pooling to grid / stride, which is what {@link
   *       AdaptivePool2d} computes.
   *   <li>{@code multi_modal_projector} on the F x M pooled rows (spec §3.1).
   *   <li>Splice (spec §4.4, HF {@code masked_scatter}): the i-th placeholder of {@code inputIds}
   *       (id {@code video_token_index}) gets the i-th projected row (frames in time order, no
   *       separators).
   *   <li>Llama forward over all T positions (spec §4.2): the logits of every position.
   *   <li>Greedy decoding (spec §5) of {@code newTokens} ids with the KV cache of that forward.
   *       Generated ids are embedded as plain tokens (HF passes pixel values only at prefill). Ends
   *       early only after emitting an EOS id (kept, as HF {@code generate} returns it).
   * </ol>
   *
   * @param pixels [F, 3, S, S] F32 row-major, already normalised (the processor's {@code
   *     pixel_values_videos})
   * @param frames F
   * @param inputIds [T] ids with the video placeholder already expanded to F x M copies
   * @param newTokens K >= 0 greedy tokens to generate
   * @throws IllegalArgumentException for a wrong pixel count, a wrong placeholder count, ids
   *     outside the vocabulary, an unsupported pooling setup, or T + K - 1 over the context length
   */
  @Override
  public synchronized DebugForward forwardDebug(
      float[] pixels, int frames, int[] inputIds, int newTokens, boolean grounding) {
    requirePart(tower != null && language() != null, "forwardDebug", "ALL");
    Objects.requireNonNull(pixels, "pixels");
    Objects.requireNonNull(inputIds, "inputIds");
    int grid = visionGridSize();
    int stride = config.spatialPoolStride();
    if (!"default".equals(config.visionFeatureSelectStrategy())) {
      // HF's pooler views the features as a square grid, which fails with the CLS token kept
      throw new IllegalArgumentException(
          "vision_feature_select_strategy '"
              + config.visionFeatureSelectStrategy()
              + "' is not supported for video (the pooler needs the CLS token dropped)");
    }
    if (grid % stride != 0) {
      throw new IllegalArgumentException(
          "the vision grid " + grid + " is not divisible by spatial_pool_stride " + stride);
    }
    return debugPass(
        tower::features, this::debugRows, pixels, frames, inputIds, newTokens, grounding);
  }

  /**
   * Steps 2–3 of the debugging pass: the config's spatial pooling of each frame's CLIP features,
   * before the projector, then the projector over all F*M rows.
   */
  private DebugPass.Visual debugRows(NDManager step, List<float[]> feats) {
    int grid = visionGridSize();
    int dv = visionHidden();
    int pooledGrid = grid / config.spatialPoolStride();
    int frames = feats.size();
    int m = pooledGrid * pooledGrid;
    PoolingMode mode = PoolingMode.parse(config.spatialPoolMode());
    float[] pooled = new float[frames * m * dv];
    for (int f = 0; f < frames; f++) {
      float[] p = AdaptivePool2d.pool(feats.get(f), grid, grid, dv, pooledGrid, pooledGrid, mode);
      System.arraycopy(p, 0, pooled, f * m * dv, m * dv);
    }
    NDArray rows =
        language().projector().forward(step.create(pooled, new Shape((long) frames * m, dv)));
    return new DebugPass.Visual(
        rows,
        pooled,
        new long[] {frames, m, dv},
        rows.toFloatArray(),
        new long[] {frames, m, config.textConfig().hiddenSize()},
        frames * m,
        () -> queryToPatch(feats, mode, pooledGrid));
  }

  /**
   * Query-to-Patch of the config's pooler (spec §7.6), per frame: average windows, or the channel
   * argmax of the frame's features for max.
   */
  private List<QueryToPatch> queryToPatch(List<float[]> feats, PoolingMode mode, int pooledGrid) {
    int grid = visionGridSize();
    List<QueryToPatch> qtp = new ArrayList<>(feats.size());
    for (float[] f : feats) {
      qtp.add(
          mode == PoolingMode.MAX
              ? QueryToPatch.adaptiveMax(f, grid, grid, visionHidden(), pooledGrid, pooledGrid)
              : QueryToPatch.adaptiveAvg(grid, grid, pooledGrid, pooledGrid));
    }
    return qtp;
  }

  /**
   * frames x (grid / spatial_pool_stride)²: one placeholder per pooled row, no separators (spec
   * §3.3).
   */
  @Override
  public int visualTokens(int frames) {
    return frames * config.pooledGridSize() * config.pooledGridSize();
  }

  /** EOS ids generation stops at. */
  public Set<Integer> eosTokenIds() {
    requirePart(language() != null, "eosTokenIds", "LANGUAGE");
    return language().eosIds();
  }

  /** Each frame must hold tokensPerFrame rows of Dv values (the projector's input). */
  private void checkFrames(VideoPrompt prompt) {
    checkShippedRows(prompt, language().projector().inputDim());
  }

  private void requirePart(boolean loaded, String method, String needed) {
    if (!loaded) {
      throw new IllegalStateException(
          method
              + "() needs the "
              + needed
              + " part, but "
              + packDir()
              + " was loaded with "
              + part);
    }
  }

  @Override
  public synchronized void close() {
    pack.close();
  }
}
