package io.decostream.ingest;

import io.decostream.schemas.TopicNames;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * What {@code deco publish} does: read {@code source}, cut it into chunks, send them to the chunks
 * topic keyed by {@code streamId}. Validated at construction.
 *
 * @param bootstrap Kafka bootstrap servers, host:port[,host:port...]
 * @param streamId stream id: the Kafka key and VideoChunk.streamId (1-200 chars of [A-Za-z0-9._:-])
 * @param source file path, rtsp:// URL or /dev/videoN
 * @param chunkSeconds target chunk length in seconds (0.2..10; see {@link Chunker} for keyframe
 *     limits)
 * @param realtime pace sending at the source's frame rate
 * @param loop repeat a file forever (start times keep increasing)
 * @param topicNames topic names (chunks topic is used)
 * @param maxChunks stop after this many chunks (empty = until the end / forever)
 * @param live RTSP transport, reconnect backoff and give-up time for live sources (issue 18 point
 *     5)
 */
public record PublishConfig(
    String bootstrap,
    String streamId,
    String source,
    double chunkSeconds,
    boolean realtime,
    boolean loop,
    TopicNames topicNames,
    OptionalLong maxChunks,
    LiveOptions live) {

  private static final Pattern STREAM_ID = Pattern.compile("[A-Za-z0-9._:-]{1,200}");

  public PublishConfig {
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalArgumentException("bootstrap servers must be given, e.g. localhost:9092");
    }
    if (streamId == null || !STREAM_ID.matcher(streamId).matches()) {
      throw new IllegalArgumentException(
          "stream id must be 1-200 characters of letters, digits, '.', '_', ':'"
              + " or '-', got '"
              + streamId
              + "'");
    }
    Objects.requireNonNull(topicNames, "topicNames");
    Objects.requireNonNull(maxChunks, "maxChunks (use OptionalLong.empty())");
    Objects.requireNonNull(live, "live (use LiveOptions.defaults())");
    if (maxChunks.isPresent() && maxChunks.getAsLong() <= 0) {
      throw new IllegalArgumentException(
          "maxChunks must be positive when given, got " + maxChunks.getAsLong());
    }
    chunkerOptions(
        source, chunkSeconds, realtime, loop, maxChunks); // validates source, chunkSeconds, loop
  }

  /** A config with the default {@link LiveOptions} (AUTO transport, give up after 60 s). */
  public PublishConfig(
      String bootstrap,
      String streamId,
      String source,
      double chunkSeconds,
      boolean realtime,
      boolean loop,
      TopicNames topicNames,
      OptionalLong maxChunks) {
    this(
        bootstrap,
        streamId,
        source,
        chunkSeconds,
        realtime,
        loop,
        topicNames,
        maxChunks,
        LiveOptions.defaults());
  }

  /** The same config with other live-source options. */
  public PublishConfig withLive(LiveOptions l) {
    return new PublishConfig(
        bootstrap, streamId, source, chunkSeconds, realtime, loop, topicNames, maxChunks, l);
  }

  /** Default: 1 s chunks, no pacing, no loop, default topic names, no limit. */
  public static PublishConfig of(String bootstrap, String streamId, String source) {
    return new PublishConfig(
        bootstrap,
        streamId,
        source,
        1.0,
        false,
        false,
        TopicNames.defaults(),
        OptionalLong.empty());
  }

  /** The chunker settings this config implies. */
  public ChunkerOptions chunkerOptions() {
    return chunkerOptions(source, chunkSeconds, realtime, loop, maxChunks).withLive(live);
  }

  private static ChunkerOptions chunkerOptions(
      String source, double chunkSeconds, boolean realtime, boolean loop, OptionalLong maxChunks) {
    return new ChunkerOptions(
        source, chunkSeconds, realtime, loop, maxChunks.orElse(0), ChunkerOptions.Mode.AUTO);
  }
}
