package io.decostream.worker;

import io.decostream.schemas.TopicNames;
import java.nio.file.Path;
import java.util.Objects;

/**
 * llm-worker settings.
 *
 * @param applicationId Kafka Streams application id
 * @param topicNames topics
 * @param windowFrames frames kept per stream; 0 = derive from the context length and tokens per
 *     frame
 * @param maxFrames upper bound on a derived window (default 64, so the DeCo 4x-frames effect shows
 *     at a 4096-token context)
 * @param reservedTextTokens context kept free for the prompt text and the generated tokens
 * @param captionEvery a caption after every N frames of stream time (0 = no captions)
 * @param captionPrompt the instruction used for captions
 * @param maxNewTokens default tokens generated per answer or caption
 * @param stateDir Kafka Streams state directory (null = a temp dir)
 * @param groundCaptions also publish R-GAE grounding maps for every caption (answers get them when
 *     the question asks, {@code Question.wantGrounding})
 */
public record WorkerConfig(
    String applicationId,
    TopicNames topicNames,
    int windowFrames,
    int maxFrames,
    int reservedTextTokens,
    int captionEvery,
    String captionPrompt,
    int maxNewTokens,
    Path stateDir,
    boolean groundCaptions) {

  public WorkerConfig {
    Objects.requireNonNull(applicationId, "applicationId");
    if (applicationId.isBlank()) {
      throw new IllegalArgumentException("applicationId must not be blank");
    }
    Objects.requireNonNull(topicNames, "topicNames");
    Objects.requireNonNull(captionPrompt, "captionPrompt");
    if (captionPrompt.isBlank()) {
      throw new IllegalArgumentException("captionPrompt must not be blank");
    }
    if (windowFrames < 0
        || maxFrames < 1
        || reservedTextTokens < 1
        || captionEvery < 0
        || maxNewTokens < 1) {
      throw new IllegalArgumentException(
          "invalid worker config: windowFrames >= 0, maxFrames >= 1, "
              + "reservedTextTokens >= 1, captionEvery >= 0, maxNewTokens >= 1 required");
    }
  }

  public static WorkerConfig defaults() {
    return new WorkerConfig(
        "deco-llm-worker",
        TopicNames.defaults(),
        0,
        64,
        256,
        8,
        "describe the video.",
        32,
        null,
        false);
  }

  public WorkerConfig withTopicNames(TopicNames t) {
    return new WorkerConfig(
        applicationId,
        t,
        windowFrames,
        maxFrames,
        reservedTextTokens,
        captionEvery,
        captionPrompt,
        maxNewTokens,
        stateDir,
        groundCaptions);
  }

  public WorkerConfig withWindow(int frames, int max) {
    return new WorkerConfig(
        applicationId,
        topicNames,
        frames,
        max,
        reservedTextTokens,
        captionEvery,
        captionPrompt,
        maxNewTokens,
        stateDir,
        groundCaptions);
  }

  public WorkerConfig withCaptionEvery(int n) {
    return new WorkerConfig(
        applicationId,
        topicNames,
        windowFrames,
        maxFrames,
        reservedTextTokens,
        n,
        captionPrompt,
        maxNewTokens,
        stateDir,
        groundCaptions);
  }

  public WorkerConfig withMaxNewTokens(int n) {
    return new WorkerConfig(
        applicationId,
        topicNames,
        windowFrames,
        maxFrames,
        reservedTextTokens,
        captionEvery,
        captionPrompt,
        n,
        stateDir,
        groundCaptions);
  }

  public WorkerConfig withGroundCaptions(boolean ground) {
    return new WorkerConfig(
        applicationId,
        topicNames,
        windowFrames,
        maxFrames,
        reservedTextTokens,
        captionEvery,
        captionPrompt,
        maxNewTokens,
        stateDir,
        ground);
  }

  public WorkerConfig withStateDir(Path dir) {
    return new WorkerConfig(
        applicationId,
        topicNames,
        windowFrames,
        maxFrames,
        reservedTextTokens,
        captionEvery,
        captionPrompt,
        maxNewTokens,
        dir,
        groundCaptions);
  }

  /**
   * The window W for frames of {@code tokensPerFrame} tokens: the configured size, or as many
   * frames as the context holds (capped by maxFrames) — so 144-token DeCo frames fit 4x more than
   * 576-token ones.
   */
  public int windowFor(int tokensPerFrame, AnswerBackend backend) {
    if (windowFrames > 0) {
      return windowFrames;
    }
    int fit = backend.maxFrames(tokensPerFrame, reservedTextTokens);
    if (fit < 1) {
      throw new IllegalStateException(
          "not even one frame of "
              + tokensPerFrame
              + " tokens fits the context of "
              + backend.contextLength()
              + " tokens with "
              + reservedTextTokens
              + " reserved");
    }
    return Math.min(fit, maxFrames);
  }
}
