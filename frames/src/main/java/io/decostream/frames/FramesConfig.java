package io.decostream.frames;

import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.TopicNames;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Settings of the frames stage (decode video chunks, sample frames at a fixed rate). Validated at
 * construction.
 *
 * @param applicationId Kafka Streams application.id (consumer group, state and internal topic
 *     prefix)
 * @param topicNames topic names: reads chunks, writes frames and deadLetters
 * @param sampleFps sampled frames per second of video (0 &lt; fps &le; 60); DeCo samples 1 fps
 * @param maxWidth frames wider are scaled down, preserving the aspect ratio (16..8192)
 * @param maxHeight frames taller are scaled down, preserving the aspect ratio (16..8192)
 * @param maxChunkSeconds a chunk claiming (durationMicros) or decoding to a longer time span is
 *     rejected (0 &lt; s &le; 120)
 * @param maxDecodeMillis wall-clock budget for decoding one chunk; over it the chunk is rejected
 * @param frameFormat encoding of Frame.data: PNG (lossless, default) or RGB24
 * @param stateDir Kafka Streams state.dir; null = a fresh temporary directory
 * @param maxChunkBytes a chunk with more data bytes is rejected before decoding (1 KiB ..
 *     KafkaLimits.MAX_MESSAGE_BYTES; default the whole message limit)
 * @param maxCrashAttempts a chunk whose processing crashed the stage this many times is
 *     dead-lettered at the next attempt instead of crash-looping ({@link
 *     io.decostream.schemas.CrashGuard}; 1..100, default 2)
 */
public record FramesConfig(
    String applicationId,
    TopicNames topicNames,
    double sampleFps,
    int maxWidth,
    int maxHeight,
    double maxChunkSeconds,
    long maxDecodeMillis,
    FrameFormat frameFormat,
    Path stateDir,
    int maxChunkBytes,
    int maxCrashAttempts) {

  private static final Pattern APP_ID = Pattern.compile("[A-Za-z0-9._-]{1,200}");

  public FramesConfig {
    if (applicationId == null || !APP_ID.matcher(applicationId).matches()) {
      throw new IllegalArgumentException(
          "applicationId must be 1-200 characters of letters, digits, '.', '_'"
              + " or '-', got '"
              + applicationId
              + "'");
    }
    Objects.requireNonNull(topicNames, "topicNames");
    if (!(sampleFps > 0 && sampleFps <= 60)) {
      throw new IllegalArgumentException("sampleFps must be in (0, 60], got " + sampleFps);
    }
    if (maxWidth < 16 || maxWidth > 8192) {
      throw new IllegalArgumentException("maxWidth must be in 16..8192, got " + maxWidth);
    }
    if (maxHeight < 16 || maxHeight > 8192) {
      throw new IllegalArgumentException("maxHeight must be in 16..8192, got " + maxHeight);
    }
    if (!(maxChunkSeconds > 0 && maxChunkSeconds <= 120)) {
      throw new IllegalArgumentException(
          "maxChunkSeconds must be in (0, 120], got " + maxChunkSeconds);
    }
    if (maxDecodeMillis < 1) {
      throw new IllegalArgumentException("maxDecodeMillis must be >= 1, got " + maxDecodeMillis);
    }
    Objects.requireNonNull(frameFormat, "frameFormat");
    if (maxChunkBytes < 1024 || maxChunkBytes > KafkaLimits.MAX_MESSAGE_BYTES) {
      throw new IllegalArgumentException(
          "maxChunkBytes must be in 1024.."
              + KafkaLimits.MAX_MESSAGE_BYTES
              + ", got "
              + maxChunkBytes);
    }
    if (maxCrashAttempts < 1 || maxCrashAttempts > 100) {
      throw new IllegalArgumentException(
          "maxCrashAttempts must be in 1..100, got " + maxCrashAttempts);
    }
  }

  /**
   * application id deco-frames, default topics, 1 fps, 1920x1080, 10 s chunks, 10 s decode budget,
   * PNG, chunks up to the Kafka message limit, a chunk given up after crashing the stage twice.
   */
  public static FramesConfig defaults() {
    return new FramesConfig(
        "deco-frames",
        TopicNames.defaults(),
        1.0,
        1920,
        1080,
        10.0,
        10_000,
        FrameFormat.PNG,
        null,
        KafkaLimits.MAX_MESSAGE_BYTES,
        2);
  }

  public FramesConfig withMaxChunkBytes(int bytes) {
    return new FramesConfig(
        applicationId,
        topicNames,
        sampleFps,
        maxWidth,
        maxHeight,
        maxChunkSeconds,
        maxDecodeMillis,
        frameFormat,
        stateDir,
        bytes,
        maxCrashAttempts);
  }

  public FramesConfig withMaxCrashAttempts(int attempts) {
    return new FramesConfig(
        applicationId,
        topicNames,
        sampleFps,
        maxWidth,
        maxHeight,
        maxChunkSeconds,
        maxDecodeMillis,
        frameFormat,
        stateDir,
        maxChunkBytes,
        attempts);
  }

  public FramesConfig withApplicationId(String id) {
    return new FramesConfig(
        id,
        topicNames,
        sampleFps,
        maxWidth,
        maxHeight,
        maxChunkSeconds,
        maxDecodeMillis,
        frameFormat,
        stateDir,
        maxChunkBytes,
        maxCrashAttempts);
  }

  public FramesConfig withTopicNames(TopicNames names) {
    return new FramesConfig(
        applicationId,
        names,
        sampleFps,
        maxWidth,
        maxHeight,
        maxChunkSeconds,
        maxDecodeMillis,
        frameFormat,
        stateDir,
        maxChunkBytes,
        maxCrashAttempts);
  }

  public FramesConfig withSampleFps(double fps) {
    return new FramesConfig(
        applicationId,
        topicNames,
        fps,
        maxWidth,
        maxHeight,
        maxChunkSeconds,
        maxDecodeMillis,
        frameFormat,
        stateDir,
        maxChunkBytes,
        maxCrashAttempts);
  }

  public FramesConfig withMaxSize(int w, int h) {
    return new FramesConfig(
        applicationId,
        topicNames,
        sampleFps,
        w,
        h,
        maxChunkSeconds,
        maxDecodeMillis,
        frameFormat,
        stateDir,
        maxChunkBytes,
        maxCrashAttempts);
  }

  public FramesConfig withMaxChunkSeconds(double s) {
    return new FramesConfig(
        applicationId,
        topicNames,
        sampleFps,
        maxWidth,
        maxHeight,
        s,
        maxDecodeMillis,
        frameFormat,
        stateDir,
        maxChunkBytes,
        maxCrashAttempts);
  }

  public FramesConfig withMaxDecodeMillis(long ms) {
    return new FramesConfig(
        applicationId,
        topicNames,
        sampleFps,
        maxWidth,
        maxHeight,
        maxChunkSeconds,
        ms,
        frameFormat,
        stateDir,
        maxChunkBytes,
        maxCrashAttempts);
  }

  public FramesConfig withFrameFormat(FrameFormat f) {
    return new FramesConfig(
        applicationId,
        topicNames,
        sampleFps,
        maxWidth,
        maxHeight,
        maxChunkSeconds,
        maxDecodeMillis,
        f,
        stateDir,
        maxChunkBytes,
        maxCrashAttempts);
  }

  public FramesConfig withStateDir(Path dir) {
    return new FramesConfig(
        applicationId,
        topicNames,
        sampleFps,
        maxWidth,
        maxHeight,
        maxChunkSeconds,
        maxDecodeMillis,
        frameFormat,
        dir,
        maxChunkBytes,
        maxCrashAttempts);
  }
}
