package io.decostream.worker;

import io.decostream.schemas.TopicNames;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

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
 * @param dedupRetention how long an answered question is remembered (issue 18 point 1: a question
 *     id answered twice yields one answer). The worker keeps a changelogged key-value store {@code
 *     worker-answered}: (stream id, question id) → the question record's timestamp when it was
 *     answered. A question whose (stream, id) is in the store with a timestamp less than this
 *     retention before its own timestamp is a duplicate: no second answer or grounding, one INFO
 *     line. Time is the records' own (Kafka CreateTime of the question, i.e. the asker's clock),
 *     not the worker's wall clock, so a replay after a crash decides the same way as the first run.
 *     A stream-time punctuator (every retention / 24, at least 1 s) deletes entries older than the
 *     retention, so the store holds about one retention's worth of questions (a few bytes each).
 *     Every answer counts, error answers too: to ask again after an error, use a new id. The store
 *     is per stream (questions are routed by stream id), so the same id asked about another stream
 *     is another question. Under exactly-once the store write commits in the same transaction as
 *     the answer; under at-least-once it catches a resent question but not a replay after a crash
 *     (the answer may be out before the store's changelog write). Default 24 h.
 * @param maxQuestionBytes longest question text accepted, in UTF-8 bytes (issue 18 point 7): a
 *     longer one becomes a dead letter. Default 4 KiB (about a thousand tokens: more would crowd
 *     the frames out of the context anyway).
 * @param crashAttemptLimit a record whose processing was started this many times without finishing
 *     (the worker process died during generation, e.g. a native crash) is dead-lettered instead of
 *     tried again (issue 18 point 7). The count is kept in a small file next to the task's state
 *     directory, outside Kafka's transaction (an aborted transaction would roll a store write
 *     back); it needs a persistent {@link #stateDir} to survive restarts. Default 2.
 * @param sampling decoding of answers whose question does not say (issue 20 point 5): greedy by
 *     default; a question's temperature/topP/seed override it field by field. Captions always
 *     decode greedily.
 * @param live the live window (issue 20 point 1): frames kept prefilled per stream
 * @param maxBatch continuous batching (issue 22 point 3): the most questions and captions of
 *     different streams decoded together by the worker's generation scheduler, a thread of its own,
 *     so the stream thread never waits for a generation. Pending generations are kept in the
 *     changelogged store {@code worker-pending} and resubmitted after a restart or rebalance. 0 =
 *     no scheduler: each generation runs to its end on the stream thread (the unbatched mode, which
 *     the topology's unit tests use to see answers synchronously). Default {@value
 *     #DEFAULT_MAX_BATCH}.
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
    boolean groundCaptions,
    Duration dedupRetention,
    int maxQuestionBytes,
    int crashAttemptLimit,
    Sampling sampling,
    LiveWindowConfig live,
    int maxBatch) {

  /** Default {@link #maxBatch}. */
  public static final int DEFAULT_MAX_BATCH = 32;

  /** Default {@link #dedupRetention}: a day of question timestamps. */
  public static final Duration DEFAULT_DEDUP_RETENTION = Duration.ofHours(24);

  /** Default {@link #maxQuestionBytes}: 4 KiB of UTF-8 question text. */
  public static final int DEFAULT_MAX_QUESTION_BYTES = 4 * 1024;

  /**
   * Default {@link #crashAttemptLimit}: a record that crashed the worker twice is not tried again.
   */
  public static final int DEFAULT_CRASH_ATTEMPT_LIMIT = 2;

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
    Objects.requireNonNull(dedupRetention, "dedupRetention");
    if (dedupRetention.toMillis() < 1) {
      throw new IllegalArgumentException(
          "dedupRetention must be at least 1 ms, got " + dedupRetention);
    }
    if (maxQuestionBytes < 1) {
      throw new IllegalArgumentException("maxQuestionBytes must be >= 1, got " + maxQuestionBytes);
    }
    if (crashAttemptLimit < 1) {
      throw new IllegalArgumentException(
          "crashAttemptLimit must be >= 1, got " + crashAttemptLimit);
    }
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(live, "live");
    if (maxBatch < 0) {
      throw new IllegalArgumentException("maxBatch must be >= 0, got " + maxBatch);
    }
  }

  /** As the canonical constructor, batching up to {@value #DEFAULT_MAX_BATCH} generations. */
  public WorkerConfig(
      String applicationId,
      TopicNames topicNames,
      int windowFrames,
      int maxFrames,
      int reservedTextTokens,
      int captionEvery,
      String captionPrompt,
      int maxNewTokens,
      Path stateDir,
      boolean groundCaptions,
      Duration dedupRetention,
      int maxQuestionBytes,
      int crashAttemptLimit,
      Sampling sampling,
      LiveWindowConfig live) {
    this(
        applicationId,
        topicNames,
        windowFrames,
        maxFrames,
        reservedTextTokens,
        captionEvery,
        captionPrompt,
        maxNewTokens,
        stateDir,
        groundCaptions,
        dedupRetention,
        maxQuestionBytes,
        crashAttemptLimit,
        sampling,
        live,
        DEFAULT_MAX_BATCH);
  }

  /** Greedy decoding and the default live window. */
  public WorkerConfig(
      String applicationId,
      TopicNames topicNames,
      int windowFrames,
      int maxFrames,
      int reservedTextTokens,
      int captionEvery,
      String captionPrompt,
      int maxNewTokens,
      Path stateDir,
      boolean groundCaptions,
      Duration dedupRetention,
      int maxQuestionBytes,
      int crashAttemptLimit) {
    this(
        applicationId,
        topicNames,
        windowFrames,
        maxFrames,
        reservedTextTokens,
        captionEvery,
        captionPrompt,
        maxNewTokens,
        stateDir,
        groundCaptions,
        dedupRetention,
        maxQuestionBytes,
        crashAttemptLimit,
        Sampling.GREEDY,
        LiveWindowConfig.DEFAULTS);
  }

  public WorkerConfig withSampling(Sampling s) {
    return with(f -> f.sampling = s);
  }

  public WorkerConfig withLive(LiveWindowConfig l) {
    return with(f -> f.live = l);
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
        false,
        DEFAULT_DEDUP_RETENTION,
        DEFAULT_MAX_QUESTION_BYTES,
        DEFAULT_CRASH_ATTEMPT_LIMIT,
        Sampling.GREEDY,
        LiveWindowConfig.DEFAULTS);
  }

  public WorkerConfig withApplicationId(String id) {
    return with(f -> f.applicationId = id);
  }

  public WorkerConfig withTopicNames(TopicNames t) {
    return with(f -> f.topicNames = t);
  }

  public WorkerConfig withWindow(int frames, int max) {
    return with(
        f -> {
          f.windowFrames = frames;
          f.maxFrames = max;
        });
  }

  public WorkerConfig withCaptionEvery(int n) {
    return with(f -> f.captionEvery = n);
  }

  public WorkerConfig withMaxNewTokens(int n) {
    return with(f -> f.maxNewTokens = n);
  }

  public WorkerConfig withGroundCaptions(boolean ground) {
    return with(f -> f.groundCaptions = ground);
  }

  public WorkerConfig withStateDir(Path dir) {
    return with(f -> f.stateDir = dir);
  }

  public WorkerConfig withDedupRetention(Duration retention) {
    return with(f -> f.dedupRetention = retention);
  }

  public WorkerConfig withMaxQuestionBytes(int bytes) {
    return with(f -> f.maxQuestionBytes = bytes);
  }

  public WorkerConfig withCrashAttemptLimit(int limit) {
    return with(f -> f.crashAttemptLimit = limit);
  }

  public WorkerConfig withMaxBatch(int n) {
    return with(f -> f.maxBatch = n);
  }

  /**
   * The fields as a mutable copy: each {@code with…} changes some and builds a validated record.
   */
  private static final class Fields {
    String applicationId;
    TopicNames topicNames;
    int windowFrames;
    int maxFrames;
    int reservedTextTokens;
    int captionEvery;
    String captionPrompt;
    int maxNewTokens;
    Path stateDir;
    boolean groundCaptions;
    Duration dedupRetention;
    int maxQuestionBytes;
    int crashAttemptLimit;
    Sampling sampling;
    LiveWindowConfig live;
    int maxBatch;

    Fields(WorkerConfig c) {
      applicationId = c.applicationId;
      topicNames = c.topicNames;
      windowFrames = c.windowFrames;
      maxFrames = c.maxFrames;
      reservedTextTokens = c.reservedTextTokens;
      captionEvery = c.captionEvery;
      captionPrompt = c.captionPrompt;
      maxNewTokens = c.maxNewTokens;
      stateDir = c.stateDir;
      groundCaptions = c.groundCaptions;
      dedupRetention = c.dedupRetention;
      maxQuestionBytes = c.maxQuestionBytes;
      crashAttemptLimit = c.crashAttemptLimit;
      sampling = c.sampling;
      live = c.live;
      maxBatch = c.maxBatch;
    }

    WorkerConfig build() {
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
          groundCaptions,
          dedupRetention,
          maxQuestionBytes,
          crashAttemptLimit,
          sampling,
          live,
          maxBatch);
    }
  }

  private WorkerConfig with(Consumer<Fields> change) {
    Fields f = new Fields(this);
    change.accept(f);
    return f.build();
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
