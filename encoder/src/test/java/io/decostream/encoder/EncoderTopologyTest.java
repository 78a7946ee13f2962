package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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

  /**
   * A stand-in ViT whose feature of patch p, channel d is p + 0.01 d + the image's first red value.
   */
  static class FakeVision implements VisionBackend {
    final List<Integer> batchSizes = new ArrayList<>();

    @Override
    public int gridSize() {
      return GRID;
    }

    @Override
    public int hidden() {
      return DIM;
    }

    @Override
    public int featureLayer() {
      return 2;
    }

    @Override
    public int defaultPooledGrid() {
      return 12;
    }

    @Override
    public String modelId() {
      return "fake";
    }

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
    return Frame.newBuilder()
        .setStreamId(stream)
        .setFrameIndex(index)
        .setTimestampMicros(index * 1_000_000)
        .setChunkSequence(index)
        .setWidth(40)
        .setHeight(30)
        .setFormat(FrameFormat.PNG)
        .setData(ByteBuffer.wrap(png.toByteArray()))
        .setStageMillis(Map.of("frames", 5L))
        .build();
  }

  @Test
  void framesAreBatchedPooledTo144TokensAndKeepPerStreamOrder() throws Exception {
    EncoderConfig config = EncoderConfig.defaults().withBatch(4, 200);
    try (TopologyTestDriver d = driver(config)) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      TestOutputTopic<String, FrameTokens> out =
          d.createOutputTopic(
              topics.tokens().name(),
              Serdes.String().deserializer(),
              topics.tokens().valueSerde().deserializer());
      in.pipeInput("a", frame("a", 0, 10));
      in.pipeInput("b", frame("b", 0, 20));
      in.pipeInput("a", frame("a", 1, 30));
      assertTrue(out.isEmpty(), "a partial batch waits");
      in.pipeInput("b", frame("b", 1, 40));
      in.pipeInput("a", frame("a", 2, 50)); // 5th frame: starts the next batch
      List<FrameTokens> got = out.readValuesToList();
      assertEquals(List.of(4), vision.batchSizes, "one ViT call for the whole batch");
      assertEquals(4, got.size());
      assertEquals(
          List.of("a", "a", "b", "b"), got.stream().map(FrameTokens::getStreamId).toList());
      assertEquals(List.of(0L, 1L, 0L, 1L), got.stream().map(FrameTokens::getFrameIndex).toList());
      int[] reds = {10, 30, 20, 40};
      for (int k = 0; k < 4; k++) {
        FrameTokens t = got.get(k);
        assertEquals(12, t.getGridHeight());
        assertEquals(12, t.getGridWidth());
        assertEquals("avg", t.getPooling());
        assertEquals(List.of(144, DIM), t.getTokens().getShape());
        assertTrue(
            t.getStageMillis().containsKey("encoder") && t.getStageMillis().get("frames") == 5L);
        float[] v = Tensors.decode(t.getTokens());
        // Pooled token (i,j) averages patches rows 2i..2i+1, cols 2j..2j+1: mean index = 48i + 2j +
        // 12.5.
        for (int i = 0; i < 12; i += 5) {
          for (int j = 0; j < 12; j += 7) {
            for (int dd = 0; dd < DIM; dd += 3) {
              float expected = 48 * i + 2 * j + 12.5f + 0.01f * dd + reds[k];
              assertEquals(
                  expected, v[(i * 12 + j) * DIM + dd], expected * 1e-3, "token " + i + "," + j);
            }
          }
        }
      }
      // The 5th frame leaves with the next flush (here the wall-clock punctuation), as a batch of
      // 1.
      d.advanceWallClockTime(Duration.ofMillis(250));
      List<FrameTokens> rest = out.readValuesToList();
      assertEquals(1, rest.size());
      assertEquals("a", rest.get(0).getStreamId());
      assertEquals(2, rest.get(0).getFrameIndex());
      assertEquals(List.of(4, 1), vision.batchSizes);
      assertEquals(
          48 * 11 + 2 * 11 + 12.5f + 50, Tensors.decode(rest.get(0).getTokens())[143 * DIM], 0.5);
    }
  }

  @Test
  void pendingFramesAreChangeloggedUntilTheirBatchIsFlushed() throws Exception {
    try (TopologyTestDriver d = driver(EncoderConfig.defaults().withBatch(2, 10_000))) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      TestOutputTopic<String, byte[]> changelog =
          d.createOutputTopic(
              "enc-test-" + EncoderTopology.PENDING_STORE + "-changelog",
              Serdes.String().deserializer(),
              Serdes.ByteArray().deserializer());
      in.pipeInput("s", frame("s", 7, 1));
      // Before any flush the waiting frame is already in the changelog: a crash now loses nothing.
      List<org.apache.kafka.streams.test.TestRecord<String, byte[]>> first =
          changelog.readRecordsToList();
      assertEquals(1, first.size());
      assertEquals("s|0000000000000000007", first.get(0).key());
      assertEquals(
          7,
          topics
              .frames()
              .valueSerde()
              .deserializer()
              .deserialize("t", first.get(0).value())
              .getFrameIndex());
      in.pipeInput("s", frame("s", 8, 1));
      // The flush deletes both entries: tombstones follow the second put.
      List<org.apache.kafka.streams.test.TestRecord<String, byte[]>> rest =
          changelog.readRecordsToList();
      assertEquals(
          List.of("s|0000000000000000008", "s|0000000000000000007", "s|0000000000000000008"),
          rest.stream().map(org.apache.kafka.streams.test.TestRecord::key).toList());
      assertTrue(
          rest.get(1).value() == null && rest.get(2).value() == null, "deletes are tombstones");
    }
  }

  @Test
  void rgb24FramesAreAcceptedAsIs() throws Exception {
    try (TopologyTestDriver d = driver(EncoderConfig.defaults().withBatch(1, 200))) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      TestOutputTopic<String, FrameTokens> out =
          d.createOutputTopic(
              topics.tokens().name(),
              Serdes.String().deserializer(),
              topics.tokens().valueSerde().deserializer());
      byte[] rgb = new byte[4 * 2 * 3];
      rgb[0] = 77;
      in.pipeInput(
          "r",
          Frame.newBuilder(frame("r", 0, 1))
              .setWidth(4)
              .setHeight(2)
              .setFormat(FrameFormat.RGB24)
              .setData(ByteBuffer.wrap(rgb))
              .build());
      FrameTokens t = out.readValue();
      assertEquals(12.5f + 77, Tensors.decode(t.getTokens())[0], 0.05);
    }
  }

  @Test
  void aFrameTheVisionBackendRejectsIsDeadLetteredAndTheRestOfItsBatchStillFlows()
      throws Exception {
    // A backend that fails on any batch holding an image whose first red value is 99.
    VisionBackend picky =
        new VisionBackend() {
          @Override
          public int gridSize() {
            return GRID;
          }

          @Override
          public int hidden() {
            return DIM;
          }

          @Override
          public int featureLayer() {
            return 2;
          }

          @Override
          public int defaultPooledGrid() {
            return 12;
          }

          @Override
          public String modelId() {
            return "picky";
          }

          @Override
          public List<float[]> features(List<RgbImage> images) {
            if (images.stream().anyMatch(i -> (i.rgb()[0] & 0xFF) == 99)) {
              throw new IllegalArgumentException("cannot handle red 99");
            }
            return vision.features(images);
          }
        };
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "enc-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    try (TopologyTestDriver d =
        new TopologyTestDriver(
            EncoderTopology.build(EncoderConfig.defaults().withBatch(3, 200), picky), p)) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      TestOutputTopic<String, FrameTokens> out =
          d.createOutputTopic(
              topics.tokens().name(),
              Serdes.String().deserializer(),
              topics.tokens().valueSerde().deserializer());
      TestOutputTopic<String, DeadLetter> dead =
          d.createOutputTopic(
              topics.deadLetters().name(),
              Serdes.String().deserializer(),
              topics.deadLetters().valueSerde().deserializer());
      in.pipeInput("s", frame("s", 0, 1));
      in.pipeInput("s", frame("s", 1, 99));
      in.pipeInput("s", frame("s", 2, 3));
      assertEquals(
          List.of(0L, 2L),
          out.readValuesToList().stream().map(FrameTokens::getFrameIndex).toList());
      DeadLetter dl = dead.readValue();
      assertTrue(
          dl.getReason().contains("vision backend failed on frame 1")
              && dl.getReason().contains("red 99"),
          dl.getReason());
      assertTrue(dead.isEmpty());
    }
  }

  @Test
  void aPartialBatchIsFlushedByWallClock() throws Exception {
    try (TopologyTestDriver d = driver(EncoderConfig.defaults().withBatch(8, 200))) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      TestOutputTopic<String, FrameTokens> out =
          d.createOutputTopic(
              topics.tokens().name(),
              Serdes.String().deserializer(),
              topics.tokens().valueSerde().deserializer());
      in.pipeInput("a", frame("a", 0, 1));
      assertTrue(out.isEmpty());
      d.advanceWallClockTime(Duration.ofMillis(250));
      assertEquals(1, out.readValuesToList().size());
    }
  }

  @Test
  void perStreamCompressorOverridesTheDefault() throws Exception {
    EncoderConfig config =
        EncoderConfig.defaults()
            .withBatch(2, 200)
            .withPerStream(EncoderConfig.parsePerStream("raw=none,coarse=max:8"));
    try (TopologyTestDriver d = driver(config)) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      TestOutputTopic<String, FrameTokens> out =
          d.createOutputTopic(
              topics.tokens().name(),
              Serdes.String().deserializer(),
              topics.tokens().valueSerde().deserializer());
      in.pipeInput("raw", frame("raw", 0, 1));
      in.pipeInput("coarse", frame("coarse", 0, 1));
      Map<String, FrameTokens> byStream = new java.util.HashMap<>();
      out.readValuesToList().forEach(t -> byStream.put(t.getStreamId(), t));
      assertEquals(List.of(576, DIM), byStream.get("raw").getTokens().getShape());
      assertEquals("none", byStream.get("raw").getPooling());
      assertEquals(List.of(64, DIM), byStream.get("coarse").getTokens().getShape());
      assertEquals("max", byStream.get("coarse").getPooling());
      // max pooling ships its R-GAE Query-to-Patch weights (window-compact, 24 -> 8: 3x3 windows),
      // rows sum to 1
      assertNull(byStream.get("raw").getQueryToPatch());
      io.decostream.schemas.Tensor q = byStream.get("coarse").getQueryToPatch();
      assertEquals(List.of(64, 9), q.getShape());
      float[] w = io.decostream.schemas.Tensors.decode(q);
      for (int j = 0; j < 64; j++) {
        double sum = 0;
        for (int k = 0; k < 9; k++) {
          sum += w[j * 9 + k];
        }
        assertEquals(1.0, sum, 2e-3, "row " + j);
      }
    }
  }

  @Test
  void undecodableImagesAndNonAvroBytesGoToTheDeadLetterTopic() throws Exception {
    try (TopologyTestDriver d = driver(EncoderConfig.defaults().withBatch(2, 200))) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      TestInputTopic<byte[], byte[]> raw =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.ByteArray().serializer(),
              Serdes.ByteArray().serializer());
      TestOutputTopic<String, FrameTokens> out =
          d.createOutputTopic(
              topics.tokens().name(),
              Serdes.String().deserializer(),
              topics.tokens().valueSerde().deserializer());
      TestOutputTopic<String, DeadLetter> dead =
          d.createOutputTopic(
              topics.deadLetters().name(),
              Serdes.String().deserializer(),
              topics.deadLetters().valueSerde().deserializer());
      raw.pipeInput("x".getBytes(), "definitely not avro".getBytes());
      Frame broken =
          Frame.newBuilder(frame("a", 0, 1)).setData(ByteBuffer.wrap(new byte[] {1, 2, 3})).build();
      in.pipeInput("a", broken);
      Frame liar =
          Frame.newBuilder(frame("a", 2, 1)).setWidth(64).build(); // header disagrees with the PNG
      in.pipeInput("a", liar);
      in.pipeInput("a", frame("a", 1, 1));
      List<DeadLetter> dl = dead.readValuesToList();
      assertEquals(3, dl.size());
      assertTrue(
          dl.get(2).getReason().contains("PNG is 40x30 but the frame says 64x30"),
          dl.get(2).getReason());
      assertEquals(topics.frames().name(), dl.get(1).getSourceTopic());
      assertEquals(
          1, dl.get(1).getOffset(), "rejected on arrival: the dead letter points at its offset");
      assertTrue(dl.get(0).getReason().contains("not a Frame"), dl.get(0).getReason());
      assertTrue(dl.get(1).getReason().contains("cannot be decoded"), dl.get(1).getReason());
      assertEquals("encoder", dl.get(1).getStage());
      List<FrameTokens> ok = out.readValuesToList();
      assertTrue(ok.isEmpty(), "a batch of 2 is not full yet: bad frames never entered it");
      in.pipeInput("a", frame("a", 3, 1));
      ok = out.readValuesToList();
      assertEquals(2, ok.size(), "the good frames still flow");
      assertEquals(1, ok.get(0).getFrameIndex());
    }
  }

  @Test
  void perStreamSpecIsValidated() {
    assertEquals(
        TokenCompressor.parse("avg:12"), EncoderConfig.parsePerStream("a=avg:12").get("a"));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> EncoderConfig.parsePerStream("nonsense"));
    EncoderConfig c =
        EncoderConfig.defaults().withPerStream(EncoderConfig.parsePerStream("raw=none"));
    assertEquals(
        TokenCompressor.deco(12),
        c.compressorFor("other", 12),
        "default: DeCo avg to the model's grid");
    assertEquals(TokenCompressor.none(), c.compressorFor("raw", 12));
    assertEquals(
        TokenCompressor.parse("max:6"),
        c.withCompressor(TokenCompressor.parse("max:6")).compressorFor("x", 12));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> EncoderConfig.defaults().withBatch(0, 200));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> EncoderConfig.defaults().withBatch(4, 0));
  }
}
