package io.decostream.nn.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The multimodal checkpoint families this project loads, told apart by config.json {@code
 * model_type} (spec §1–§4): llava-hf LLaVA-NeXT-Video (CLIP + pooling before the projector +
 * Llama), llava-hf LLaVA-1.5 (CLIP + mlp2x_gelu, 576 tokens per image + Llama) and llava-hf
 * LLaVA-OneVision (SigLIP + projector, then bilinear pooling and {@code image_newline} + Qwen2).
 */
public enum ModelFamily {
  LLAVA_NEXT_VIDEO("llava_next_video"),
  LLAVA("llava"),
  LLAVA_ONEVISION("llava_onevision");

  private final String modelType;

  ModelFamily(String modelType) {
    this.modelType = modelType;
  }

  /** config.json {@code model_type} of this family. */
  public String modelType() {
    return modelType;
  }

  /** The family of {@code model_type}, or an error listing the supported ones. */
  public static ModelFamily ofModelType(String type) {
    for (ModelFamily f : values()) {
      if (f.modelType.equals(type)) {
        return f;
      }
    }
    throw new IllegalArgumentException(
        "unsupported model family '"
            + (type == null ? "" : type)
            + "' (config.json model_type); supported: "
            + Arrays.stream(values()).map(ModelFamily::modelType).toList());
  }

  /** Reads {@code dir/config.json} (or the file) and returns its family. */
  public static ModelFamily detect(Path dirOrFile) {
    Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("config.json") : dirOrFile;
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no config.json at " + file);
    }
    try {
      JsonNode type = new ObjectMapper().readTree(file.toFile()).path("model_type");
      return ofModelType(type.isTextual() ? type.asText() : null);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
