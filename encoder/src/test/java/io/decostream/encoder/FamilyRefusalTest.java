package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.image.RgbImage;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A compressor the model's family cannot take (issue 23 point 3): refused at start when configured,
 * dead-lettered with the family's reason when asked for on the control topic. The backend here
 * answers as LLaVA-OneVision does (it pools after its projector, so only its whole grid is
 * shipped).
 */
class FamilyRefusalTest {
  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.withPrefix("f."));

  /** FakeVision's features, with OneVision's rule: the identity only. */
  static final class IdentityOnly implements VisionBackend {
    final EncoderTopologyTest.FakeVision fake = new EncoderTopologyTest.FakeVision();

    @Override
    public int gridSize() {
      return fake.gridSize();
    }

    @Override
    public int hidden() {
      return fake.hidden();
    }

    @Override
    public int featureLayer() {
      return fake.featureLayer();
    }

    @Override
    public int defaultPooledGrid() {
      return gridSize(); // the whole grid, as llava_onevision's
    }

    @Override
    public String modelId() {
      return "ov-fake";
    }

    @Override
    public List<float[]> features(List<RgbImage> images) {
      return fake.features(images);
    }

    @Override
    public String compressorRefusal(TokenCompressor c) {
      boolean identity = c.isAnyGrid() || (c.outH() == gridSize() && c.outW() == gridSize());
      return identity
          ? null
          : "llava_onevision pools after its projector: " + c.spec() + " refused";
    }
  }

  final IdentityOnly vision = new IdentityOnly();

  TopologyTestDriver driver(EncoderConfig config) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "enc-family-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    return new TopologyTestDriver(
        EncoderTopology.build(config.withTopicNames(topics.names()).withBatch(1, 200), vision), p);
  }

  @Test
  void aConfiguredCompressorTheFamilyCannotTakeIsRefusedAtStart() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                EncoderTopology.build(
                    EncoderConfig.defaults().withCompressor(TokenCompressor.deco(12)), vision));
    assertTrue(e.getMessage().contains("--compressor = avg:12x12"), e.getMessage());
    assertTrue(e.getMessage().contains("ov-fake"), e.getMessage());
    assertTrue(e.getMessage().contains("llava_onevision pools after"), e.getMessage());
    IllegalArgumentException perStream =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                EncoderTopology.build(
                    EncoderConfig.defaults()
                        .withPerStream(Map.of("cam-7", TokenCompressor.parse("max:6"))),
                    vision));
    assertTrue(perStream.getMessage().contains("stream cam-7"), perStream.getMessage());
    // the family's own default (the whole grid) and none are accepted
    EncoderTopology.build(EncoderConfig.defaults(), vision);
    EncoderTopology.build(EncoderConfig.defaults().withCompressor(TokenCompressor.none()), vision);
  }

  @Test
  void aLiveBudgetTheFamilyCannotTakeIsDeadLetteredAndChangesNothing() throws Exception {
    try (TopologyTestDriver d = driver(EncoderConfig.defaults())) {
      TestInputTopic<byte[], byte[]> control =
          d.createInputTopic(
              topics.control().name(),
              Serdes.ByteArray().serializer(),
              Serdes.ByteArray().serializer());
      TestInputTopic<String, Frame> frames =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      TestOutputTopic<String, DeadLetter> dead =
          d.createOutputTopic(
              topics.deadLetters().name(),
              Serdes.String().deserializer(),
              topics.deadLetters().valueSerde().deserializer());
      TestOutputTopic<String, FrameTokens> tokens =
          d.createOutputTopic(
              topics.tokens().name(),
              Serdes.String().deserializer(),
              topics.tokens().valueSerde().deserializer());
      BudgetControl b =
          BudgetControl.newBuilder()
              .setStreamId("cam-1")
              .setCompressor("avg:4x4")
              .setRequestedAtMillis(1L)
              .setRequestedBy("test")
              .build();
      control.pipeInput(
          "cam-1".getBytes(StandardCharsets.UTF_8),
          topics.control().valueSerde().serializer().serialize(topics.control().name(), b));
      List<DeadLetter> dls = dead.readValuesToList();
      assertEquals(1, dls.size());
      assertTrue(dls.get(0).getReason().contains("avg:4x4 refused"), dls.get(0).getReason());
      assertEquals("cam-1", dls.get(0).getStreamId());
      // the stream keeps the whole grid
      frames.pipeInput("cam-1", EncoderTopologyTest.frame("cam-1", 0, 10));
      FrameTokens t = tokens.readValue();
      assertEquals(vision.gridSize() * vision.gridSize(), t.getGridHeight() * t.getGridWidth());
    }
  }
}
