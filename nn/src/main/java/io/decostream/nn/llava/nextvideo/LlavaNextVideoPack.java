package io.decostream.nn.llava.nextvideo;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.llava.LanguageParts;
import io.decostream.nn.llava.PackOpening;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.LlavaKeys;
import io.decostream.nn.weights.Precision;
import io.decostream.nn.weights.WeightException;
import io.decostream.projector.MlpProjector;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The one loader of a {@code llava_next_video} pack: its checkpoint opened as {@link
 * CheckpointWeights} and the parts bound by HF name into the blocks that run them, the CLIP tower
 * and its processor (spec §1.2–§1.3), the projector MLP (§3.1), the decoder with its head,
 * tokenizer and EOS ids (§4, §5). Serving ({@link LlavaNextVideo#load}) and training ({@code
 * TrainablePack}, which turns gradients on for the same arrays) both open packs through here, so
 * what is trained is what is served.
 *
 * <p>Strict: every tensor under a loaded part's key prefixes must be bound with its expected shape
 * (a missing or misshaped weight fails naming it); with {@link LlavaNextVideo.Part#ALL} nothing in
 * the checkpoint may be left over. Both llava-hf key layouts are accepted ({@link LlavaKeys}).
 */
public final class LlavaNextVideoPack implements AutoCloseable {

  private final Path dir;
  private final LlavaNextVideo.Part part;
  private final LlavaNextVideoConfig config;
  private final NDManager manager;
  private final CheckpointWeights weights;
  private final LlavaKeys keys;
  private final ClipVisionTower tower; // vision part, else null
  private final ClipImageProcessor processor;
  private final LanguageParts language; // language part, else null

  private LlavaNextVideoPack(
      Path dir,
      LlavaNextVideo.Part part,
      LlavaNextVideoConfig config,
      PackOpening.Opened pack,
      PackOpening.Clip clip,
      LanguageParts language) {
    this.dir = dir;
    this.part = part;
    this.config = config;
    this.manager = pack.manager();
    this.weights = pack.weights();
    this.keys = pack.keys();
    this.tower = clip == null ? null : clip.tower();
    this.processor = clip == null ? null : clip.processor();
    this.language = language;
  }

  /**
   * Opens {@code dir} and binds {@code part}.
   *
   * @throws WeightException naming a missing, misshaped or unused weight
   * @throws IllegalArgumentException for an unreadable/unsupported config or an inconsistent
   *     tokenizer or processor
   */
  public static LlavaNextVideoPack open(Path dir, LlavaNextVideo.Part part) {
    return open(dir, part, Precision.F32);
  }

  /** As above, the decoder's weight matrices held at {@code precision} (issue 20 point 3). */
  public static LlavaNextVideoPack open(Path dir, LlavaNextVideo.Part part, Precision precision) {
    Objects.requireNonNull(part, "part");
    Objects.requireNonNull(precision, "precision");
    return PackOpening.open(
        dir,
        LlavaNextVideoConfig::read,
        (config, pack, opened) -> {
          PackOpening.Clip clip = null;
          if (part.vision()) { // the CLIP tower up to vision_feature_layer (spec §1.3)
            boolean dropCls = "default".equals(config.visionFeatureSelectStrategy());
            clip =
                PackOpening.clip(
                    pack, config.visionConfig(), config.visionHiddenStateIndex(), dropCls, opened);
          }
          LanguageParts language =
              part.language()
                  ? bindLanguage(dir, pack.weights(), pack.keys(), config, precision, opened)
                  : null;
          if (part == LlavaNextVideo.Part.ALL) {
            pack.weights().assertAllUsed(); // nothing in the checkpoint may be left over
          }
          return new LlavaNextVideoPack(dir, part, config, pack, clip, language);
        });
  }

  /** Projector, decoder, tokenizer and EOS ids, as every LLaVA family loads them (spec §3–§5). */
  private static LanguageParts bindLanguage(
      Path dir,
      CheckpointWeights weights,
      LlavaKeys keys,
      LlavaNextVideoConfig config,
      Precision precision,
      List<AutoCloseable> opened) {
    LanguageParts lang =
        LanguageParts.load(
            dir,
            weights,
            keys,
            config.textConfig(),
            config.visionConfig().hiddenSize(),
            Boolean.TRUE.equals(config.tieWordEmbeddings()),
            LlavaNextVideo.VIDEO_PLACEHOLDER,
            config.videoTokenIndex(),
            precision,
            opened);
    // image_newline exists in llava-next checkpoints; it is used for anyres images only, never
    // for video
    for (String name : List.of("image_newline", "model.image_newline")) {
      if (weights.has(name)) {
        weights.bind(name, config.textConfig().hiddenSize());
      }
    }
    return lang;
  }

  public Path dir() {
    return dir;
  }

  public LlavaNextVideo.Part part() {
    return part;
  }

  public LlavaNextVideoConfig config() {
    return config;
  }

  /** The manager that owns the weights; a caller's scratch managers may hang below it. */
  public NDManager manager() {
    return manager;
  }

  /**
   * The bound checkpoint: every tensor by its HF name ({@code bind} returns the blocks' arrays).
   */
  public CheckpointWeights weights() {
    return weights;
  }

  public LlavaKeys keys() {
    return keys;
  }

  /** The CLIP tower, or null without the vision part. */
  public ClipVisionTower tower() {
    return tower;
  }

  /** The image processor, or null without the vision part. */
  public ClipImageProcessor processor() {
    return processor;
  }

  /** The projector MLP, or null without the language part. */
  public MlpProjector projector() {
    return language == null ? null : language.projector();
  }

  /** The decoder, or null without the language part. */
  public LlamaModel llm() {
    return language == null ? null : language.llm();
  }

  /** The tokenizer, or null without the language part. */
  public PackTokenizer tokenizer() {
    return language == null ? null : language.tokenizer();
  }

  /** The language side as every family holds it, or null without the language part. */
  LanguageParts language() {
    return language;
  }

  /** EOS ids generation stops at; empty without the language part. */
  public Set<Integer> eosIds() {
    return language == null ? Set.of() : language.eosIds();
  }

  @Override
  public void close() {
    if (language != null) {
      language.close();
    }
    if (tower != null) {
      tower.close();
    }
    weights.close();
    manager.close();
  }
}
