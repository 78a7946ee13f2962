package io.decostream.nn.llava.families;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.llava.DebugForwardModel;
import io.decostream.nn.llava.llava15.Llava;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.llava.onevision.LlavaOnevision;
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
}
