package io.decostream.encoder;

import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.Topics;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * frames topic → PNG/RGB decode → micro-batched ViT (configured layer, CLS dropped) → the stream's
 * DeCo compressor (AdaptiveAvgPool2d 24x24 → 12x12 by default) → FrameTokens (F16) on the tokens
 * topic. Frames wait for their batch in a changelogged store, so a crash loses none of them.
 *
 * <p>The live token budget (issue 21 point 4): control topic → {@link ControlProcessor} (checks
 * each request with {@link BudgetValidator}; a bad one becomes a dead letter with its reason and
 * changes nothing) → budgets topic → the global store {@link #BUDGET_STORE} that every encoder
 * instance holds in full ({@link BudgetStoreUpdater}, same validator) → {@link EncodeProcessor}
 * pools each frame with its stream's budget from then on (else the configured compressor).
 *
 * <p>Why two topics: a global store's processor has no sinks, so it cannot dead-letter, and Kafka
 * Streams refuses one topic as both a regular and a global source in one topology. A regular task
 * on the control topic checks each request once (exactly one dead letter per bad request under
 * exactly-once, not one per instance), and the budgets topic it writes carries only accepted
 * budgets, keyed by stream id, to every instance whatever partitioner the requester used.
 */
public final class EncoderTopology {
  public static final String STAGE = "encoder";
  public static final String SOURCE = "frames-source";
  public static final String PROCESSOR = "encode";
  public static final String PENDING_STORE = "encoder-pending";
  public static final String TOKENS_SINK = "tokens-sink";
  public static final String DEAD_LETTER_SINK = "dead-letter-sink";
  public static final String CONTROL_SOURCE = "control-source";
  public static final String CONTROL_PROCESSOR = "check-budget";
  public static final String BUDGETS_SINK = "budgets-sink";
  public static final String BUDGETS_SOURCE = "budgets-source";
  public static final String BUDGETS_UPDATER = "budgets-update";

  /** Global store: stream id → canonical compressor spec of its current budget. */
  public static final String BUDGET_STORE = "encoder-budgets";

  private EncoderTopology() {}

  /**
   * @throws IllegalArgumentException when the model refuses a configured compressor (the default or
   *     a per-stream one), naming the stream, the setting and the model's reason
   */
  public static Topology build(EncoderConfig config, VisionBackend backend) {
    checkCompressors(config, backend);
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
    int patchGrid = backend.gridSize();
    t.addSource(
        CONTROL_SOURCE,
        Serdes.ByteArray().deserializer(),
        Serdes.ByteArray().deserializer(),
        topics.control().name());
    t.addProcessor(
        CONTROL_PROCESSOR,
        () -> new ControlProcessor(topics, patchGrid, backend::compressorRefusal),
        CONTROL_SOURCE);
    t.addSink(
        BUDGETS_SINK,
        topics.budgets().name(),
        topics.budgets().keySerde().serializer(),
        topics.budgets().valueSerde().serializer(),
        CONTROL_PROCESSOR);
    t.addSink(
        DEAD_LETTER_SINK,
        topics.deadLetters().name(),
        topics.deadLetters().keySerde().serializer(),
        topics.deadLetters().valueSerde().serializer(),
        PROCESSOR,
        CONTROL_PROCESSOR);
    // global stores are rebuilt from their topic; they have no changelog of their own
    t.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore(BUDGET_STORE), Serdes.String(), Serdes.String())
            .withLoggingDisabled(),
        BUDGETS_SOURCE,
        Serdes.ByteArray().deserializer(),
        Serdes.ByteArray().deserializer(),
        topics.budgets().name(),
        BUDGETS_UPDATER,
        () -> new BudgetStoreUpdater(topics, patchGrid, backend::compressorRefusal));
    return t;
  }

  /**
   * Refuses at start a compressor the model's family cannot take (issue 23 point 3): the default
   * (the configured one, else the family's own grid) and every per-stream one.
   */
  static void checkCompressors(EncoderConfig config, VisionBackend backend) {
    checkCompressor("--compressor", config.compressorFor("", backend.defaultPooledGrid()), backend);
    config
        .perStream()
        .forEach((stream, c) -> checkCompressor("compressor of stream " + stream, c, backend));
  }

  private static void checkCompressor(String setting, TokenCompressor c, VisionBackend backend) {
    String why = backend.compressorRefusal(c);
    if (why != null) {
      throw new IllegalArgumentException(
          "encoder: "
              + setting
              + " = "
              + c.spec()
              + " refused by model "
              + backend.modelId()
              + ": "
              + why);
    }
  }
}
