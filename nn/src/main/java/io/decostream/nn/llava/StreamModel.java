package io.decostream.nn.llava;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.image.RgbImage;
import io.decostream.projector.TokenCompressor;
import java.util.List;

/**
 * The face every LLaVA family shows the stream stages (issue 23 point 3): the encoder's vision half
 * (frames to the per-frame rows shipped on the frame-tokens topic) and the worker's language half
 * (prompt, splice, generate, grounding, live window). {@code Families.forStage} loads only the half
 * a stage needs.
 *
 * <p>Where each family splits (what the frame-tokens topic carries per frame):
 *
 * <ul>
 *   <li>{@code llava_next_video}: CLIP features, CLS dropped, pooled by the encoder's DeCo
 *       compressor (spec §3.3: its own pooler runs before the projector, so DeCo pooling is the
 *       model's own step); the worker projects and splices in place of one {@code <video>}.
 *   <li>{@code llava} (LLaVA-1.5): CLIP features, CLS dropped ({@code
 *       vision_feature_select_strategy} "default"), by default unpooled (the model's own 576 rows);
 *       a DeCo budget pools them before the per-token projector. The worker projects and splices
 *       each frame in place of its own {@code <image>} (vicuna_v1, frames separated by "\n").
 *   <li>{@code llava_onevision}: the full SigLIP grid, unpooled; the worker runs the projector, the
 *       bilinear pooling to ceil(grid/2)² and appends {@code image_newline} (spec §3.4: the pooling
 *       acts on projected rows, so the encoder cannot pool without changing the model). Grounding
 *       maps the pooled rows back through the bilinear weights to the shipped grid.
 * </ul>
 */
public interface StreamModel extends AutoCloseable {

  ModelFamily family();

  /** config.json {@code _name_or_path} when present, else the pack directory's name. */
  String modelId();

  // ------------------------------------------------------------------ encoder side (VISION)

  /** Patches per side of the vision grid the encoder ships (24 for CLIP-L/14-336, 27 SigLIP). */
  int visionGridSize();

  /** Dv, the vision tower's hidden size. */
  int visionHidden();

  /** Resolved hidden_states index the features come from. */
  int visionFeatureLayer();

  /** Grid side the encoder pools to when no budget is set (the family's own). */
  int defaultPooledGrid();

  /**
   * Why this family cannot take frames pooled by {@code compressor} (a sentence naming the family
   * and the setting), or null when it can.
   */
  String compressorRefusal(TokenCompressor compressor);

  /**
   * Vision features of each frame: per frame {@code float[grid² * Dv]}, tokens row-major (token p =
   * row * grid + col), before any pooling.
   */
  List<float[]> visionFeatures(List<RgbImage> frames);

  // ------------------------------------------------------------------ worker side (LANGUAGE)

  /** text_config.max_position_embeddings. */
  int contextLength();

  /**
   * How many frames of {@code tokensPerFrame} shipped rows fit beside {@code reservedTextTokens}.
   */
  int maxFrames(int tokensPerFrame, int reservedTextTokens);

  /** Answers a question about the shipped rows of some frames (the family's prompt and splice). */
  GenerationResult generate(VideoPrompt prompt, GenerationOptions options);

  /**
   * R-GAE of an answer {@link #generate} gave; Text-to-Query rows over the F·tokensPerFrame shipped
   * rows (a family that pools after the encoder maps back through its pooling).
   */
  AnswerGrounding explain(VideoPrompt prompt, int[] generatedIds);

  /**
   * A live window over this family's prompt, or null when the family's prompt cannot be kept
   * prefilled frame by frame (the worker then re-prefills the whole window per answer).
   */
  LiveWindow openLiveWindow(int tokensPerFrame, int maxFrames, int reservedTokens);

  @Override
  void close();
}
