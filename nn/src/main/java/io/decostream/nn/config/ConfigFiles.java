package io.decostream.nn.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reading a pack's config.json into a config record (unknown keys ignored, as HF does). Public for
 * the family packages' config records.
 */
public final class ConfigFiles {

  public static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private ConfigFiles() {}

  /**
   * {@code dir/config.json} (or the file itself) bound to {@code type}, before HF's defaults are
   * applied.
   */
  public static <T> T read(Path dirOrFile, Class<T> type) {
    Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("config.json") : dirOrFile;
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no config.json at " + file);
    }
    try {
      return JSON.readValue(file.toFile(), type);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
