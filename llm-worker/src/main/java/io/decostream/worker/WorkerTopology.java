package io.decostream.worker;

import io.decostream.schemas.Topics;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * tokens topic → per-stream window of the last W frames (a changelogged store, so a restarted
 * worker restores its windows); questions topic (same keys, same partitions) → prompt with the
 * window's frames spliced in → generation → Answer; every N frames of stream time → Caption; for
 * questions that ask (and captions when configured) → R-GAE Grounding on the grounding topic.
 */
public final class WorkerTopology {
  public static final String STAGE = "llm-worker";
  public static final String TOKENS_SOURCE = "tokens-source";
  public static final String QUESTIONS_SOURCE = "questions-source";
  public static final String PROCESSOR = "worker";
  public static final String WINDOW_STORE = "worker-window";
  public static final String ANSWERS_SINK = "answers-sink";
  public static final String CAPTIONS_SINK = "captions-sink";
  public static final String GROUNDING_SINK = "grounding-sink";
  public static final String DEAD_LETTER_SINK = "dead-letter-sink";

  private WorkerTopology() {}

  public static Topology build(WorkerConfig config, AnswerBackend backend) {
    Topics topics = Topics.of(config.topicNames());
    Topology t = new Topology();
    t.addSource(
        TOKENS_SOURCE,
        Serdes.ByteArray().deserializer(),
        Serdes.ByteArray().deserializer(),
        topics.tokens().name());
    t.addSource(
        QUESTIONS_SOURCE,
        Serdes.ByteArray().deserializer(),
        Serdes.ByteArray().deserializer(),
        topics.questions().name());
    // One processor for both inputs: it owns the window store, so a question sees exactly the
    // frames that arrived before it on the same partition.
    t.addProcessor(
        PROCESSOR,
        () -> new WorkerProcessor(config, backend, topics),
        TOKENS_SOURCE,
        QUESTIONS_SOURCE);
    t.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(WINDOW_STORE), Serdes.String(), Serdes.ByteArray()),
        PROCESSOR);
    t.addSink(
        ANSWERS_SINK,
        topics.answers().name(),
        topics.answers().keySerde().serializer(),
        topics.answers().valueSerde().serializer(),
        PROCESSOR);
    t.addSink(
        CAPTIONS_SINK,
        topics.captions().name(),
        topics.captions().keySerde().serializer(),
        topics.captions().valueSerde().serializer(),
        PROCESSOR);
    t.addSink(
        GROUNDING_SINK,
        topics.grounding().name(),
        topics.grounding().keySerde().serializer(),
        topics.grounding().valueSerde().serializer(),
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
