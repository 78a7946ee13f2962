package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.BudgetControl;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The live token budget (issue 21 point 4) and malformed control messages (issue 18 point 7). */
class EncoderBudgetTest {
  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.withPrefix("t."));
  final EncoderTopologyTest.FakeVision vision = new EncoderTopologyTest.FakeVision();

  /** The driver with its topics; batch size 1, so each frame is flushed as it arrives. */
  final class Rig implements AutoCloseable {
    final TopologyTestDriver d;
    final TestInputTopic<String, Frame> frames;
    final TestInputTopic<byte[], byte[]> control;
    final TestInputTopic<byte[], byte[]> budgetsIn;
    final TestOutputTopic<String, FrameTokens> tokens;
    final TestOutputTopic<String, DeadLetter> dead;
    final TestOutputTopic<String, BudgetControl> budgets;

    Rig(EncoderConfig config) {
      Properties p = new Properties();
      p.put(StreamsConfig.APPLICATION_ID_CONFIG, "enc-budget-test");
      p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
      p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
      d =
          new TopologyTestDriver(
              EncoderTopology.build(
                  config.withTopicNames(topics.names()).withBatch(1, 200), vision),
              p);
      frames =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      control =
          d.createInputTopic(
              topics.control().name(),
              Serdes.ByteArray().serializer(),
              Serdes.ByteArray().serializer());
      budgetsIn =
          d.createInputTopic(
              topics.budgets().name(),
              Serdes.ByteArray().serializer(),
              Serdes.ByteArray().serializer());
      tokens =
          d.createOutputTopic(
              topics.tokens().name(),
              Serdes.String().deserializer(),
              topics.tokens().valueSerde().deserializer());
      dead =
          d.createOutputTopic(
              topics.deadLetters().name(),
              Serdes.String().deserializer(),
              topics.deadLetters().valueSerde().deserializer());
      budgets =
          d.createOutputTopic(
              topics.budgets().name(),
              Serdes.String().deserializer(),
              topics.budgets().valueSerde().deserializer());
    }

    /** Sends one frame of {@code stream} and returns its tokens per frame. */
    int tokensOf(String stream, long index) throws Exception {
      frames.pipeInput(stream, EncoderTopologyTest.frame(stream, index, 10));
      List<FrameTokens> got = tokens.readValuesToList();
      assertEquals(1, got.size(), "one FrameTokens per frame");
      FrameTokens t = got.get(0);
      assertEquals(index, t.getFrameIndex());
      return t.getGridHeight() * t.getGridWidth();
    }

    void send(String key, BudgetControl c) {
      control.pipeInput(
          key == null ? null : key.getBytes(StandardCharsets.UTF_8),
          topics.control().valueSerde().serializer().serialize(topics.control().name(), c));
    }

    @Override
    public void close() {
      d.close();
    }
  }

  static BudgetControl budget(String stream, String spec) {
    return BudgetControl.newBuilder()
        .setStreamId(stream)
        .setCompressor(spec)
        .setRequestedAtMillis(1L)
        .setRequestedBy("test")
        .build();
  }

  @Test
  void aControlRecordChangesTheNextFramesGrid() throws Exception {
    try (Rig r = new Rig(EncoderConfig.defaults())) {
      assertEquals(144, r.tokensOf("cam1", 0), "the model's own avg:12 before any budget");
      r.send("cam1", budget("cam1", "avg:6"));
      assertTrue(r.dead.isEmpty(), "a good budget is no dead letter");
      List<BudgetControl> accepted = r.budgets.readValuesToList();
      assertEquals(1, accepted.size());
      assertEquals("avg:6x6", accepted.get(0).getCompressor(), "republished in canonical form");
      assertEquals(36, r.tokensOf("cam1", 1), "avg:6 from the next frame on: 6x6 tokens");
      assertEquals(36, r.tokensOf("cam1", 2));
      assertEquals(144, r.tokensOf("cam2", 0), "another stream keeps its budget");
      r.send("cam1", budget("cam1", "max:8x4"));
      r.frames.pipeInput("cam1", EncoderTopologyTest.frame("cam1", 3, 10));
      FrameTokens t = r.tokens.readValue();
      assertEquals(8, t.getGridHeight());
      assertEquals(4, t.getGridWidth());
      assertEquals("max", t.getPooling());
      r.send("cam1", budget("cam1", "none"));
      assertEquals(576, r.tokensOf("cam1", 4), "none keeps the 24x24 patch grid");
      KeyValueStore<String, String> store = r.d.getKeyValueStore(EncoderTopology.BUDGET_STORE);
      assertEquals("none", store.get("cam1"));
    }
  }

  @Test
  void aControlRecordOverridesTheConfiguredPerStreamBudget() throws Exception {
    EncoderConfig config =
        EncoderConfig.defaults()
            .withPerStream(Map.of("cam1", TokenCompressor.parse("avg:8")))
            .withCompressor(TokenCompressor.parse("avg:10"));
    try (Rig r = new Rig(config)) {
      assertEquals(64, r.tokensOf("cam1", 0), "configured per-stream budget");
      assertEquals(100, r.tokensOf("cam2", 0), "configured default");
      r.send("cam1", budget("cam1", "avg:12"));
      assertEquals(144, r.tokensOf("cam1", 1));
      assertEquals(100, r.tokensOf("cam2", 1));
    }
  }

  @Test
  void eachBadControlRecordIsADeadLetterWithItsReasonAndChangesNothing() throws Exception {
    try (Rig r = new Rig(EncoderConfig.defaults())) {
      r.send("cam1", budget("cam1", "avg:8"));
      assertEquals(64, r.tokensOf("cam1", 0));
      r.budgets.readValuesToList();
      byte[] cam1 = "cam1".getBytes(StandardCharsets.UTF_8);
      record Bad(Runnable send, String reason) {}
      List<Bad> bad =
          List.of(
              new Bad(
                  () -> r.control.pipeInput(cam1, "avg:6".getBytes(StandardCharsets.UTF_8)),
                  "not a BudgetControl record"),
              new Bad(() -> r.control.pipeInput(cam1, (byte[]) null), "tombstone"),
              new Bad(() -> r.send("cam2", budget("cam1", "avg:6")), "is not its stream id"),
              new Bad(() -> r.send(null, budget("cam1", "avg:6")), "has no key"),
              new Bad(() -> r.send("", budget("", "avg:6")), "empty stream id"),
              new Bad(
                  () -> r.send("ca\nm1", budget("ca\nm1", "avg:6")), "contains control characters"),
              new Bad(() -> r.send("cam1", budget("cam1", "blur:6")), "unknown"),
              new Bad(() -> r.send("cam1", budget("cam1", "avg:six")), "bad grid"),
              new Bad(() -> r.send("cam1", budget("cam1", "")), "empty token budget"),
              new Bad(() -> r.send("cam1", budget("cam1", "avg:6\u0007")), "control characters"),
              new Bad(
                  () -> r.send("cam1", budget("cam1", "avg:32")),
                  "larger than the vision tower's 24x24 patch grid"),
              new Bad(() -> r.send("cam1", budget("cam1", "none:12")), "keeps the patch grid"));
      for (Bad b : bad) {
        b.send.run();
        List<DeadLetter> dls = r.dead.readValuesToList();
        assertEquals(
            1, dls.size(), "one dead letter for a record expected to fail with " + b.reason);
        DeadLetter dl = dls.get(0);
        assertTrue(dl.getReason().contains(b.reason), dl.getReason());
        assertEquals("encoder", dl.getStage());
        assertEquals(topics.control().name(), dl.getSourceTopic());
        assertFalse(dl.getReason().contains("\n"), "one log line: " + dl.getReason());
        assertTrue(r.budgets.isEmpty(), "nothing republished for " + b.reason);
        assertEquals(64, r.tokensOf("cam1", 1 + bad.indexOf(b)), "budget unchanged: " + b.reason);
      }
    }
  }

  @Test
  void aBadRecordWrittenStraightToTheBudgetsTopicIsSkipped() throws Exception {
    try (Rig r = new Rig(EncoderConfig.defaults())) {
      byte[] cam1 = "cam1".getBytes(StandardCharsets.UTF_8);
      r.budgetsIn.pipeInput(cam1, "garbage".getBytes(StandardCharsets.UTF_8));
      r.budgetsIn.pipeInput(
          cam1,
          topics
              .budgets()
              .valueSerde()
              .serializer()
              .serialize(topics.budgets().name(), budget("cam1", "avg:48")));
      assertEquals(144, r.tokensOf("cam1", 0));
      r.budgetsIn.pipeInput(
          cam1,
          topics
              .budgets()
              .valueSerde()
              .serializer()
              .serialize(topics.budgets().name(), budget("cam1", "avg:4")));
      assertEquals(16, r.tokensOf("cam1", 1), "a good record there is applied");
    }
  }

  @Test
  void validatorChecksSpecsAgainstThePatchGrid() {
    assertEquals(TokenCompressor.parse("avg:24"), BudgetValidator.compressor("avg:24", 24));
    assertEquals(TokenCompressor.none(), BudgetValidator.compressor("none", 24));
    assertEquals(TokenCompressor.parse("none:24"), BudgetValidator.compressor("none:24", 24));
    assertEquals(TokenCompressor.parse("avg:99"), BudgetValidator.compressor("avg:99", 0));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> BudgetValidator.compressor("max:25x2", 24));
    assertTrue(e.getMessage().contains("25x2 grid, larger than"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class, () -> BudgetValidator.compressor("a".repeat(65), 24));
    assertTrue(e.getMessage().contains("at most 64"), e.getMessage());
    assertEquals("'a\\u000ab'", BudgetValidator.printable("a\nb"));
  }
}
