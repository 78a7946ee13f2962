package io.decostream.nn.llava.families;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.llava.DebugForwardModel;
import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.llava15.Llava;
import io.decostream.nn.llava.llava15.LlavaConfig;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.llava.onevision.LlavaOnevision;
import io.decostream.nn.llava.onevision.LlavaOnevisionConfig;
import io.decostream.nn.weights.Precision;
import io.decostream.projector.TokenCompressor;
import java.nio.file.Path;

/**
 * The one place that knows every LLaVA family: picks a pack's loader from config.json {@code
 * model_type} ({@link ModelFamily#detect}). It lives in its own package so that the shared base
 * ({@code io.decostream.nn.llava}) never depends on the families built on it.
 */
public final class Families {

  private Families() {}

  /** Loads every part of the pack at {@code dir} with the loader of its family. */
  public static DebugForwardModel load(Path dir) {
    return switch (ModelFamily.detect(dir)) {
      case LLAVA_NEXT_VIDEO -> LlavaNextVideo.load(dir, LlavaNextVideo.Part.ALL);
      case LLAVA -> Llava.load(dir);
      case LLAVA_ONEVISION -> LlavaOnevision.load(dir);
    };
  }

  /**
   * Loads only the half of the pack at {@code dir} a stream stage needs, with the loader of its
   * family: {@code VISION} for the encoder (the vision tower and its processor), {@code LANGUAGE}
   * for the worker (projector, decoder, tokenizer, and what the family adds after its projector,
   * e.g. OneVision's image_newline); {@link StreamModel} says where each family splits.
   *
   * @param precision the decoder's weight matrices (issue 20 point 3; ignored without LANGUAGE)
   */
  public static StreamModel forStage(Path dir, PackPart part, Precision precision) {
    return switch (ModelFamily.detect(dir)) {
      case LLAVA_NEXT_VIDEO ->
          LlavaNextVideo.load(dir, LlavaNextVideo.Part.valueOf(part.name()), precision);
      case LLAVA -> Llava.load(dir, part, precision);
      case LLAVA_ONEVISION -> LlavaOnevision.load(dir, part, precision);
    };
  }

  /**
   * Why the pack at {@code dir} cannot take frames pooled by {@code compressor}, or null when it
   * can, from its config.json alone (issue 23 point 3): the same answer the loaded model's {@link
   * StreamModel#compressorRefusal} gives, for tools that load no weights ({@code deco budget}).
   */
  public static String compressorRefusal(Path dir, TokenCompressor compressor) {
    return switch (ModelFamily.detect(dir)) {
      case LLAVA_NEXT_VIDEO ->
          LlavaNextVideo.compressorRefusal(
              LlavaNextVideoConfig.read(dir).resolved(), dir, compressor);
      case LLAVA -> Llava.compressorRefusal(LlavaConfig.read(dir), dir, compressor);
      case LLAVA_ONEVISION ->
          LlavaOnevision.compressorRefusal(LlavaOnevisionConfig.read(dir), compressor);
    };
  }

  /** A pack's vision grid side and context length. */
  public record Sizes(int visionGrid, int contextLength) {}

  /** The sizes of the pack at {@code dir} from its config.json alone (no weights are read). */
  public static Sizes sizes(Path dir) {
    return switch (ModelFamily.detect(dir)) {
      case LLAVA_NEXT_VIDEO -> {
        LlavaNextVideoConfig c = LlavaNextVideoConfig.read(dir).resolved();
        yield new Sizes(c.visionConfig().gridSize(), c.textConfig().maxPositionEmbeddings());
      }
      case LLAVA -> {
        LlavaConfig c = LlavaConfig.read(dir);
        yield new Sizes(c.visionConfig().gridSize(), c.textConfig().maxPositionEmbeddings());
      }
      case LLAVA_ONEVISION -> {
        LlavaOnevisionConfig c = LlavaOnevisionConfig.read(dir);
        yield new Sizes(c.gridSize(), c.textConfig().maxPositionEmbeddings());
      }
    };
  }
}
