package io.decostream.nn.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.generate.Generator;
import io.decostream.nn.weights.Precision;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * What every LLaVA family facade is the same in: its identity and geometry, and the language half
 * (loaded once by {@link LanguageParts}) with generate, explain and the debugging pass over
 * whatever visual rows the family computes. A family adds only its vision side: how frames become
 * the rows spliced in place of its placeholders.
 *
 * <p>The families' shared base: each family package ({@code io.decostream.nn.llava.nextvideo},
 * {@code .onevision}, {@code .llava15}) extends it; its protected members are for them.
 */
public abstract class FamilyModel implements DebugForwardModel, StreamModel {

  /** Identity and geometry of a loaded pack, as the family's config.json gives them. */
  public record Geometry(
      Path packDir,
      String modelType,
      ModelFamily family,
      LlamaConfig text,
      int imageSize,
      int imageChannels,
      int placeholderId) {}

  private final Geometry geometry;
  private final String modelId;
  private final NDManager manager;
  private final LanguageParts lang; // null when a pack was opened without its language half

  protected FamilyModel(Geometry geometry, NDManager manager, LanguageParts lang) {
    this.geometry = geometry;
    this.modelId = LanguageParts.modelId(geometry.packDir());
    this.manager = manager;
    this.lang = lang;
  }

  /** config.json {@code _name_or_path} when present, else the pack directory's name. */
  @Override
  public String modelId() {
    return modelId;
  }

  /** text_config.max_position_embeddings: prompt (with visual rows) + generated tokens must fit. */
  @Override
  public int contextLength() {
    return geometry.text().maxPositionEmbeddings();
  }

  @Override
  public final ModelFamily family() {
    return geometry.family();
  }

  @Override
  public final int imageSize() {
    return geometry.imageSize();
  }

  @Override
  public final int imageChannels() {
    return geometry.imageChannels();
  }

  @Override
  public final int placeholderTokenId() {
    return geometry.placeholderId();
  }

  protected final Path packDir() {
    return geometry.packDir();
  }

  protected final NDManager manager() {
    return manager;
  }

  protected final LanguageParts language() {
    return lang;
  }

  /** How the decoder's weight matrices are held (issue 20 point 3); needs the language part. */
  public final Precision languagePrecision() {
    if (lang == null) {
      throw new IllegalStateException(this + " was loaded without its language part");
    }
    return lang.llm().precision();
  }

  /**
   * Computes the family's visual rows (timed as the projector's share), then splices them in place
   * of the {@code placeholders} placeholders of {@code text} and generates (spec §4.4, §5).
   */
  protected final GenerationResult generate(
      Function<NDManager, NDArray> rows,
      String text,
      String placeholder,
      int placeholders,
      GenerationOptions options) {
    try (NDManager step = manager.newSubManager()) {
      long t0 = System.nanoTime();
      NDArray visual = rows.apply(step);
      double projectorMillis = (System.nanoTime() - t0) / 1e6;
      return lang.generate(
          step,
          text,
          placeholder,
          geometry.placeholderId(),
          placeholders,
          visual,
          options,
          projectorMillis);
    }
  }

  /**
   * R-GAE of {@code generatedIds}, the answer {@link #generate} gave to the same rows and text
   * ({@link Explaining}).
   */
  protected final AnswerGrounding explain(
      Function<NDManager, NDArray> rows,
      String text,
      String placeholder,
      int placeholders,
      int[] generatedIds) {
    long t0 = System.nanoTime();
    try (NDManager step = manager.newSubManager()) {
      return lang.explain(
          step,
          text,
          placeholder,
          geometry.placeholderId(),
          placeholders,
          rows.apply(step),
          generatedIds,
          t0);
    }
  }

  /**
   * A live window ({@link LiveWindow}, issue 20 point 1) over this family's template with one
   * {@code placeholder}: the template's prefix prefilled now, frames appended later. It locks on
   * this model, as the family's {@code generate} and {@code explain} do.
   */
  protected final LiveWindow liveWindow(
      PromptTemplate template,
      String placeholder,
      int tokensPerFrame,
      int maxFrames,
      int reservedTokens) {
    return new LiveWindow(
        this,
        lang,
        manager,
        template,
        placeholder,
        geometry.placeholderId(),
        tokensPerFrame,
        maxFrames,
        reservedTokens,
        Generator.DEFAULT_PREFILL_CHUNK);
  }

  /** The debugging pass ({@link DebugPass}) with the family's tower and visual rows. */
  protected final DebugForward debugPass(
      Function<List<float[]>, List<float[]>> tower,
      DebugPass.Rows rows,
      float[] pixels,
      int frames,
      int[] inputIds,
      int newTokens,
      boolean grounding) {
    return new DebugPass(geometry.modelType(), this, tower, lang, manager, rows)
        .run(pixels, frames, inputIds, newTokens, grounding);
  }

  /**
   * Each frame of {@code prompt} must hold {@code tokensPerFrame} rows of {@code dv} values (what
   * the encoder shipped for this family).
   */
  protected static void checkShippedRows(VideoPrompt prompt, int dv) {
    long perFrame = (long) prompt.tokensPerFrame() * dv;
    for (int i = 0; i < prompt.frames().size(); i++) {
      if (prompt.frames().get(i).length != perFrame) {
        throw new IllegalArgumentException(
            "frame "
                + i
                + " has "
                + prompt.frames().get(i).length
                + " values, expected "
                + perFrame
                + " ("
                + prompt.tokensPerFrame()
                + " tokens x Dv="
                + dv
                + ")");
      }
    }
  }

  /** A stage called a method of the half its pack was not loaded with. */
  protected final void requireLoaded(boolean loaded, String method, String part) {
    if (!loaded) {
      throw new IllegalStateException(
          method
              + "() needs the "
              + part
              + " part, but "
              + geometry.packDir()
              + " was loaded without it");
    }
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + geometry.packDir() + ", " + modelId + "]";
  }
}
