package io.decostream.encoder;

import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.TopicNames;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Encoder stage settings.
 *
 * @param applicationId Kafka Streams application id
 * @param topicNames topics
 * @param compressor default token compressor; null = the model's own (DeCo: avg to 12x12 = 144)
 * @param perStream per-stream compressor overrides (the output grid is a per-stream setting)
 * @param batchSize frames per ViT micro-batch
 * @param maxBatchWaitMs flush a partial batch after this much wall-clock time
 * @param stateDir Kafka Streams state directory (null = a temp dir)
 */
public record EncoderConfig(
    String applicationId,
    TopicNames topicNames,
    TokenCompressor compressor,
    Map<String, TokenCompressor> perStream,
    int batchSize,
    long maxBatchWaitMs,
    Path stateDir) {

  public EncoderConfig {
    Objects.requireNonNull(applicationId, "applicationId");
    if (applicationId.isBlank()) {
      throw new IllegalArgumentException("applicationId must not be blank");
    }
    Objects.requireNonNull(topicNames, "topicNames");
    perStream = Map.copyOf(perStream == null ? Map.of() : perStream);
    if (batchSize < 1 || batchSize > 64) {
      throw new IllegalArgumentException("batchSize must be 1..64, got " + batchSize);
    }
    if (maxBatchWaitMs < 1) {
      throw new IllegalArgumentException("maxBatchWaitMs must be positive, got " + maxBatchWaitMs);
    }
  }

  public static EncoderConfig defaults() {
    return new EncoderConfig("deco-encoder", TopicNames.defaults(), null, Map.of(), 4, 200, null);
  }

  public EncoderConfig withTopicNames(TopicNames t) {
    return new EncoderConfig(
        applicationId, t, compressor, perStream, batchSize, maxBatchWaitMs, stateDir);
  }

  public EncoderConfig withCompressor(TokenCompressor c) {
    return new EncoderConfig(
        applicationId, topicNames, c, perStream, batchSize, maxBatchWaitMs, stateDir);
  }

  public EncoderConfig withPerStream(Map<String, TokenCompressor> m) {
    return new EncoderConfig(
        applicationId, topicNames, compressor, m, batchSize, maxBatchWaitMs, stateDir);
  }

  public EncoderConfig withBatch(int size, long waitMs) {
    return new EncoderConfig(
        applicationId, topicNames, compressor, perStream, size, waitMs, stateDir);
  }

  public EncoderConfig withStateDir(Path dir) {
    return new EncoderConfig(
        applicationId, topicNames, compressor, perStream, batchSize, maxBatchWaitMs, dir);
  }

  /** Parses "streamA=avg:12,streamB=none" into per-stream compressors. */
  public static Map<String, TokenCompressor> parsePerStream(String spec) {
    Map<String, TokenCompressor> m = new LinkedHashMap<>();
    if (spec == null || spec.isBlank()) {
      return m;
    }
    for (String part : spec.split(",")) {
      int eq = part.indexOf('=');
      if (eq <= 0 || eq == part.length() - 1) {
        throw new IllegalArgumentException(
            "per-stream compressor must look like stream=avg:12, got '" + part + "'");
      }
      m.put(part.substring(0, eq).trim(), TokenCompressor.parse(part.substring(eq + 1).trim()));
    }
    return m;
  }

  /**
   * The compressor for a stream: its override, else the default, else the model's own pooled grid.
   */
  public TokenCompressor compressorFor(String streamId, int modelPooledGrid) {
    TokenCompressor c = perStream.get(streamId);
    if (c != null) {
      return c;
    }
    return compressor != null ? compressor : TokenCompressor.deco(modelPooledGrid);
  }
}
