package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.image.RgbImage;
import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.imageio.ImageIO;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EncoderTopologyTest {
  static final int GRID = 24;
  static final int DIM = 8;

  /** A stand-in ViT whose feature of patch p, channel d is p + 0.01 d + the image's first red value. */
  static final class FakeVision implements VisionBackend {
    final List<Integer> batchSizes = new ArrayList<>();

    @Override public int gridSize() { return GRID; }
    @Override public int hidden() { return DIM; }
    @Override public int featureLayer() { return 2; }
    @Override public int defaultPooledGrid() { return 12; }
    @Override public String modelId() { return "fake"; }

    @Override
    public List<float[]> features(List<RgbImage> images) {
      batchSizes.add(images.size());
      List<float[]> out = new ArrayList<>();
      for (RgbImage img : images) {
        float[] f = new float[GRID * GRID * DIM];
        for (int p = 0; p < GRID * GRID; p++) {
          for (int d = 0; d < DIM; d++) {
            f[p * DIM + d] = p + 0.01f * d + (img.rgb()[0] & 0xFF);
          }
        }
        out.add(f);
      }
      return out;
    }
  }

  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.defaults());
  final FakeVision vision = new FakeVision();

  TopologyTestDriver driver(EncoderConfig config) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "enc-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    return new TopologyTestDriver(EncoderTopology.build(config, vision), p);
  }

  static Frame frame(String stream, long index, int red) throws Exception {
    BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 30; y++) {
      for (int x = 0; x < 40; x++) {
        img.setRGB(x, y, (red << 16) | (x << 8) | y);
      }
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(img, "png", png);
    return Frame.newBuilder().setStreamId(stream).setFrameIndex(index).setTimestampMicros(index * 1_000_000)
        .setChunkSequence(index).setWidth(40).setHeight(30).setFormat(FrameFormat.PNG)
        .setData(ByteBuffer.wrap(png.toByteArray())).setStageMillis(Map.of("frames", 5L)).build();
  }

  @Test
  void framesAreBatchedPooledTo144TokensAndKeepPerStreamOrder() throws Exception {
    EncoderConfig config = EncoderConfig.defaults().withBatch(4, 200);
    try (TopologyTestDriver d = driver(config)) {
      TestInputTopic<String, Frame> in = d.createInputTopic(topics.frames().name(), Serdes.String().serializer(),
          topics.frames().valueSerde().serializer());
      TestOutputTopic<String, FrameTokens> out = d.createOutputTopic(topics.tokens().name(),
          Serdes.String().deserializer(), topics.tokens().valueSerde().deserializer());
      in.pipeInput("a", frame("a", 0, 10));
      in.pipeInput("b", frame("b", 0, 20));
      in.pipeInput("a", frame("a", 1, 30));
      assertTrue(out.isEmpty(), "a partial batch waits");
      in.pipeInput("b", frame("b", 1, 40));
      List<FrameTokens> got = out.readValuesToList();
      assertEquals(List.of(4), vision.batchSizes, "one ViT call for the whole batch");
      assertEquals(4, got.size());
      assertEquals(List.of("a", "a", "b", "b"), got.stream().map(FrameTokens::getStreamId).toList());
      assertEquals(List.of(0L, 1L, 0L, 1L), got.stream().map(FrameTokens::getFrameIndex).toList());
      int[] reds = {10, 30, 20, 40};
      for (int k = 0; k < 4; k++) {
        FrameTokens t = got.get(k);
        assertEquals(12, t.getGridHeight());
        assertEquals(12, t.getGridWidth());
        assertEquals("avg", t.getPooling());
        assertEquals(List.of(144, DIM), t.getTokens().getShape());
        assertTrue(t.getStageMillis().containsKey("encoder") && t.getStageMillis().get("frames") == 5L);
        float[] v = Tensors.decode(t.getTokens());
        // Pooled token (i,j) averages patches rows 2i..2i+1, cols 2j..2j+1: mean index = 48i + 2j + 12.5.
        for (int i = 0; i < 12; i += 5) {
          for (int j = 0; j < 12; j += 7) {
            for (int dd = 0; dd < DIM; dd += 3) {
              float expected = 48 * i + 2 * j + 12.5f + 0.01f * dd + reds[k];
              assertEquals(expected, v[(i * 12 + j) * DIM + dd], expected * 1e-3, "token " + i + "," + j);
            }
          }
        }
      }
    }
  }

  @Test
  void aPartialBatchIsFlushedByWallClock() throws Exception {
    try (TopologyTestDriver d = driver(EncoderConfig.defaults().withBatch(8, 200))) {
      TestInputTopic<String, Frame> in = d.createInputTopic(topics.frames().name(), Serdes.String().serializer(),
          topics.frames().valueSerde().serializer());
      TestOutputTopic<String, FrameTokens> out = d.createOutputTopic(topics.tokens().name(),
          Serdes.String().deserializer(), topics.tokens().valueSerde().deserializer());
      in.pipeInput("a", frame("a", 0, 1));
      assertTrue(out.isEmpty());
      d.advanceWallClockTime(Duration.ofMillis(250));
      assertEquals(1, out.readValuesToList().size());
    }
  }

  @Test
  void perStreamCompressorOverridesTheDefault() throws Exception {
    EncoderConfig config = EncoderConfig.defaults().withBatch(2, 200)
        .withPerStream(EncoderConfig.parsePerStream("raw=none,coarse=max:8"));
    try (TopologyTestDriver d = driver(config)) {
      TestInputTopic<String, Frame> in = d.createInputTopic(topics.frames().name(), Serdes.String().serializer(),
          topics.frames().valueSerde().serializer());
      TestOutputTopic<String, FrameTokens> out = d.createOutputTopic(topics.tokens().name(),
          Serdes.String().deserializer(), topics.tokens().valueSerde().deserializer());
      in.pipeInput("raw", frame("raw", 0, 1));
      in.pipeInput("coarse", frame("coarse", 0, 1));
      Map<String, FrameTokens> byStream = new java.util.HashMap<>();
      out.readValuesToList().forEach(t -> byStream.put(t.getStreamId(), t));
      assertEquals(List.of(576, DIM), byStream.get("raw").getTokens().getShape());
      assertEquals("none", byStream.get("raw").getPooling());
      assertEquals(List.of(64, DIM), byStream.get("coarse").getTokens().getShape());
      assertEquals("max", byStream.get("coarse").getPooling());
    }
  }

  @Test
  void undecodableImagesAndNonAvroBytesGoToTheDeadLetterTopic() throws Exception {
    try (TopologyTestDriver d = driver(EncoderConfig.defaults().withBatch(2, 200))) {
      TestInputTopic<String, Frame> in = d.createInputTopic(topics.frames().name(), Serdes.String().serializer(),
          topics.frames().valueSerde().serializer());
      TestInputTopic<byte[], byte[]> raw = d.createInputTopic(topics.frames().name(), Serdes.ByteArray().serializer(),
          Serdes.ByteArray().serializer());
      TestOutputTopic<String, FrameTokens> out = d.createOutputTopic(topics.tokens().name(),
          Serdes.String().deserializer(), topics.tokens().valueSerde().deserializer());
      TestOutputTopic<String, DeadLetter> dead = d.createOutputTopic(topics.deadLetters().name(),
          Serdes.String().deserializer(), topics.deadLetters().valueSerde().deserializer());
      raw.pipeInput("x".getBytes(), "definitely not avro".getBytes());
      Frame broken = Frame.newBuilder(frame("a", 0, 1)).setData(ByteBuffer.wrap(new byte[] {1, 2, 3})).build();
      in.pipeInput("a", broken);
      in.pipeInput("a", frame("a", 1, 1));
      List<DeadLetter> dl = dead.readValuesToList();
      assertEquals(2, dl.size());
      assertTrue(dl.get(0).getReason().contains("not a Frame"), dl.get(0).getReason());
      assertTrue(dl.get(1).getReason().contains("cannot be decoded"), dl.get(1).getReason());
      assertEquals("encoder", dl.get(1).getStage());
      List<FrameTokens> ok = out.readValuesToList();
      assertEquals(1, ok.size(), "the good frame still flows");
      assertEquals(1, ok.get(0).getFrameIndex());
    }
  }

  @Test
  void perStreamSpecIsValidated() {
    assertEquals(TokenCompressor.parse("avg:12"), EncoderConfig.parsePerStream("a=avg:12").get("a"));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> EncoderConfig.parsePerStream("nonsense"));
  }
}
