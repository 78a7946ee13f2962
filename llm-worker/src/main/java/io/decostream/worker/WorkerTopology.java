package io.decostream.worker;

import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Topics;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * tokens topic → per-stream window of the last W frames (a changelogged store, so a restarted
 * worker restores its windows); questions topic → checked and re-keyed by stream id → repartition
 * topic (co-partitioned with the tokens) → prompt with the window's frames spliced in → generation
 * → Answer; every N frames of stream time → Caption; for questions that ask (and captions when
 * configured) → R-GAE Grounding on the grounding topic.
 *
 * <p>Any client (issue 18 point 4): the frame tokens are written by our encoder, a Java Kafka
 * Streams producer keyed by stream id, so they sit on murmur2(stream id) mod partitions and need no
 * repartition. Questions come from anyone (kcat and other librdkafka clients hash keys with CRC32,
 * some clients key them otherwise or not at all), so the worker puts each question on its stream's
 * partition itself: {@link QuestionRouter} keys it by the stream id in its value, and the
 * repartition topic {@code <application.id>-questions-by-stream-repartition} (created by Kafka
 * Streams) carries it to the task that holds the stream's window. That topic is declared
 * co-partitioned with the tokens topic, so Kafka Streams creates it with the tokens topic's
 * partition count whatever the questions topic has.
 *
 * <p>Dedup (issue 18 point 1): the worker remembers answered questions in the {@link
 * #ANSWERED_STORE} store, see {@link WorkerConfig#dedupRetention}.
 */
public final class WorkerTopology {
  public static final String STAGE = "llm-worker";
  public static final String TOKENS_SOURCE = "tokens-source";
  public static final String QUESTIONS_SOURCE = "questions-source";
  public static final String QUESTION_ROUTER = "question-router";

  /**
   * Name of the question repartition; the topic is {@code <application.id>-} this {@code
   * -repartition}.
   */
  public static final String QUESTIONS_BY_STREAM = "questions-by-stream";

  public static final String PROCESSOR = "worker";
  public static final String WINDOW_STORE = "worker-window";
  public static final String ANSWERED_STORE = "worker-answered";

  /**
   * Questions and captions enqueued for generation and not yet written (issue 22 point 3), keyed by
   * kind and id ({@link PendingWork}): changelogged, so a restarted or reassigned task resubmits
   * them.
   */
  public static final String PENDING_STORE = "worker-pending";

  public static final String ANSWERS_SINK = "answers-sink";
  public static final String CAPTIONS_SINK = "captions-sink";
  public static final String GROUNDING_SINK = "grounding-sink";
  public static final String DEAD_LETTER_SINK = "dead-letter-sink";
  public static final String QUESTION_DEAD_LETTER_SINK = "question-dead-letter-sink";

  /** Source node of the repartition topic, as the DSL names it. */
  static final String QUESTIONS_BY_STREAM_SOURCE = QUESTIONS_BY_STREAM + "-repartition-source";

  private WorkerTopology() {}

  /** The repartition topic's name for application id {@code applicationId}. */
  public static String questionsByStreamTopic(String applicationId) {
    return applicationId + "-" + QUESTIONS_BY_STREAM + "-repartition";
  }

  public static Topology build(WorkerConfig config, AnswerBackend backend) {
    return build(config, backend, null);
  }

  /**
   * As {@link #build(WorkerConfig, AnswerBackend)}, with the live windows' rebuilds on {@code
   * rebuildExecutor} (null = a background daemon thread; tests make slides synchronous). The
   * topology's tasks share one {@link LiveWindows}, so its memory bounds hold for the process.
   */
  static Topology build(
      WorkerConfig config, AnswerBackend backend, Supplier<Executor> rebuildExecutor) {
    return build(config, backend, rebuildExecutor, null);
  }

  /**
   * As {@link #build(WorkerConfig, AnswerBackend, Supplier)}, with the clock hot streams are timed
   * on (issue 22): null for the worker's stream time ({@link StreamClock}); tests may advance their
   * own.
   */
  static Topology build(
      WorkerConfig config,
      AnswerBackend backend,
      Supplier<Executor> rebuildExecutor,
      LongSupplier nanos) {
    StreamClock streamTime = new StreamClock();
    LiveWindows live =
        config.live().enabled()
            ? new LiveWindows(
                backend,
                config.live(),
                config.reservedTextTokens(),
                rebuildExecutor != null ? rebuildExecutor.get() : LiveWindows.backgroundExecutor(),
                nanos != null ? nanos : streamTime)
            : null;
    Topics topics = Topics.of(config.topicNames());
    CopartitioningBuilder b = new CopartitioningBuilder();
    b.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(WINDOW_STORE), Serdes.String(), Serdes.ByteArray()));
    b.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(ANSWERED_STORE), Serdes.String(), Serdes.Long()));
    b.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(PENDING_STORE), Serdes.String(), Serdes.ByteArray()));
    // one scheduler per topology, shared by its tasks: the generations of every stream this
    // process serves are decoded together (issue 22 point 3)
    GenerationScheduler scheduler = new GenerationScheduler(backend, config.maxBatch());

    KStream<byte[], byte[]> tokens =
        b.stream(
            topics.tokens().name(),
            Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName(TOKENS_SOURCE));
    KStream<byte[], byte[]> questions =
        b.stream(
            topics.questions().name(),
            Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName(QUESTIONS_SOURCE));

    KStream<byte[], Object> routed =
        questions.process(() -> new QuestionRouter(config, topics), Named.as(QUESTION_ROUTER));
    routed
        .filter((k, v) -> v instanceof DeadLetter, Named.as("question-rejected"))
        .mapValues(v -> (DeadLetter) v, Named.as("question-dead-letter"))
        .to(
            topics.deadLetters().name(),
            Produced.with(Serdes.ByteArray(), topics.deadLetters().valueSerde())
                .withName(QUESTION_DEAD_LETTER_SINK));
    KStream<byte[], byte[]> byStream =
        routed
            .filter((k, v) -> v instanceof byte[], Named.as("question-accepted"))
            .mapValues(v -> (byte[]) v, Named.as("question-bytes"))
            .repartition(
                Repartitioned.<byte[], byte[]>as(QUESTIONS_BY_STREAM)
                    .withKeySerde(Serdes.ByteArray())
                    .withValueSerde(Serdes.ByteArray()));

    // One processor for both inputs: it owns the window store, so a question sees exactly the
    // frames that arrived before it on the same partition.
    KStream<String, Object> out =
        tokens
            .merge(byStream, Named.as("worker-inputs"))
            .process(
                () -> new WorkerProcessor(config, backend, topics, live, scheduler, streamTime),
                Named.as(PROCESSOR),
                WINDOW_STORE,
                ANSWERED_STORE,
                PENDING_STORE);
    // The processor forwards each record to one of these by name.
    out.to(
        topics.answers().name(),
        Produced.with(Serdes.String(), anyValue(topics.answers().valueSerde()))
            .withName(ANSWERS_SINK));
    out.to(
        topics.captions().name(),
        Produced.with(Serdes.String(), anyValue(topics.captions().valueSerde()))
            .withName(CAPTIONS_SINK));
    out.to(
        topics.grounding().name(),
        Produced.with(Serdes.String(), anyValue(topics.grounding().valueSerde()))
            .withName(GROUNDING_SINK));
    out.to(
        topics.deadLetters().name(),
        Produced.with(Serdes.String(), anyValue(topics.deadLetters().valueSerde()))
            .withName(DEAD_LETTER_SINK));

    b.copartition(List.of(TOKENS_SOURCE, QUESTIONS_BY_STREAM_SOURCE));
    return b.build();
  }

  /** A typed serde used on a sink of Object values: the processor sends it only its own type. */
  @SuppressWarnings("unchecked")
  private static Serde<Object> anyValue(Serde<?> serde) {
    return (Serde<Object>) serde;
  }

  /**
   * StreamsBuilder that can declare sources co-partitioned, as the DSL's joins do. The public DSL
   * has no such call for two streams merged into one processor, and without it a repartition topic
   * gets the partition count of its upstream topic (the questions topic), which may differ from the
   * tokens topic's: questions would then hash to other partitions than their frames. Kafka Streams
   * checks co-partitioned source topics at startup and sizes repartition topics in the group to
   * match them.
   */
  private static final class CopartitioningBuilder extends StreamsBuilder {
    void copartition(List<String> sourceNodes) {
      internalTopologyBuilder.copartitionSources(sourceNodes);
    }
  }
}
