package io.decostream.encoder;

import io.decostream.schemas.Topics;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * frames topic → PNG/RGB decode → micro-batched ViT (configured layer, CLS dropped) → the stream's
 * DeCo compressor (AdaptiveAvgPool2d 24x24 → 12x12 by default) → FrameTokens (F16) on the tokens
 * topic. Frames wait for their batch in a changelogged store, so a crash loses none of them.
 */
public final class EncoderTopology {
  public static final String STAGE = "encoder";
  public static final String SOURCE = "frames-source";
  public static final String PROCESSOR = "encode";
  public static final String PENDING_STORE = "encoder-pending";
  public static final String TOKENS_SINK = "tokens-sink";
  public static final String DEAD_LETTER_SINK = "dead-letter-sink";

  private EncoderTopology() {}

  public static Topology build(EncoderConfig config, VisionBackend backend) {
    Topics topics = Topics.of(config.topicNames());
    Topology t = new Topology();
    // Raw bytes in: a value that is not a Frame must reach the dead-letter topic, not kill the app.
    t.addSource(
        SOURCE,
        Serdes.ByteArray().deserializer(),
        Serdes.ByteArray().deserializer(),
        topics.frames().name());
    t.addProcessor(PROCESSOR, () -> new EncodeProcessor(config, backend, topics), SOURCE);
    t.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(PENDING_STORE), Serdes.String(), Serdes.ByteArray()),
        PROCESSOR);
    t.addSink(
        TOKENS_SINK,
        topics.tokens().name(),
        topics.tokens().keySerde().serializer(),
        topics.tokens().valueSerde().serializer(),
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
