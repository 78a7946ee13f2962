package io.decostream.frames;

import io.decostream.schemas.Topics;
import java.util.Objects;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The frames stage as a Kafka Streams topology (design.md: {@code
 * FramesTopology.build(FramesConfig)}):
 *
 * <pre>
 * chunks topic (raw bytes) -> decode+sample processor [store: sampler state per stream]
 *                                -> frames topic (Frame, key stream id)
 *                                -> dead-letter topic (DeadLetter, stage "frames")
 * </pre>
 *
 * Chunks of one stream share a partition (keyed by stream id), so they arrive in order and the
 * sampler numbering is continuous.
 */
public final class FramesTopology {

  /** Stage name in stageMillis and dead letters. */
  public static final String STAGE = "frames";

  /**
   * Name of the sampler state store (its changelog topic is {@code
   * <appId>-frames-sampler-changelog}).
   */
  public static final String SAMPLER_STORE = "frames-sampler";

  public static final String SOURCE = "chunks-source";
  public static final String PROCESSOR = "decode-and-sample";
  public static final String FRAMES_SINK = "frames-sink";
  public static final String DEAD_LETTER_SINK = "dead-letter-sink";

  private FramesTopology() {}

  public static Topology build(FramesConfig config) {
    Objects.requireNonNull(config, "config");
    Topics topics = Topics.of(config.topicNames());
    Topology t = new Topology();
    t.addSource(
        SOURCE,
        Serdes.ByteArray().deserializer(),
        Serdes.ByteArray().deserializer(),
        topics.chunks().name());
    t.addProcessor(PROCESSOR, () -> new ChunkProcessor(config), SOURCE);
    t.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(SAMPLER_STORE), Serdes.String(), SamplerState.serde()),
        PROCESSOR);
    t.addSink(
        FRAMES_SINK,
        topics.frames().name(),
        topics.frames().keySerde().serializer(),
        topics.frames().valueSerde().serializer(),
        PROCESSOR);
    t.addSink(
        DEAD_LETTER_SINK,
        topics.deadLetters().name(),
        topics.deadLetters().keySerde().serializer(),
        topics.deadLetters().valueSerde().serializer(),
        PROCESSOR);
    return t;
  }
}
