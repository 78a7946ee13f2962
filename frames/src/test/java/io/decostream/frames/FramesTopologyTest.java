package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import javax.imageio.ImageIO;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FramesTopologyTest {

  @TempDir static Path dir;

  /** 10 s, 10 fps, 160x120, cut into 1 s chunks by the real ingest chunker. */
  static List<VideoChunk> tenSeconds;

  static final TopicNames NAMES = TopicNames.withPrefix("test.");
  static final Topics TOPICS = Topics.of(NAMES);
  static final AvroSerde<VideoChunk> CHUNK_SERDE = AvroSerde.of(VideoChunk.class);

  @BeforeAll
  static void cut() throws Exception {
    tenSeconds =
        TestChunks.cut(
            dir, "ten.mp4", SyntheticVideo.Spec.defaults(10).withSize(160, 120), 1.0, "cam-1");
    assertEquals(10, tenSeconds.size());
  }

  /** The driver plus its topics. */
  private record Harness(
      TopologyTestDriver driver,
      TestInputTopic<byte[], byte[]> in,
      TestOutputTopic<String, Frame> frames,
      TestOutputTopic<String, DeadLetter> dead)
      implements AutoCloseable {
    void send(VideoChunk c) {
      in.pipeInput(c.getStreamId().getBytes(StandardCharsets.UTF_8), CHUNK_SERDE.serialize("t", c));
    }

    KeyValueStore<String, SamplerState> store() {
      return driver.getKeyValueStore(FramesTopology.SAMPLER_STORE);
    }

    @Override
    public void close() {
      driver.close();
    }
  }

  private static Harness harness(FramesConfig config) {
    Properties p = new Properties();
    p.put("application.id", config.applicationId());
    p.put("bootstrap.servers", "dummy:9092");
    p.put("state.dir", dir.resolve("state-" + System.nanoTime()).toString());
    TopologyTestDriver d = new TopologyTestDriver(FramesTopology.build(config), p);
    return new Harness(
        d,
        d.createInputTopic(NAMES.chunks(), new ByteArraySerializer(), new ByteArraySerializer()),
        d.createOutputTopic(
            NAMES.frames(), new StringDeserializer(), TOPICS.frames().valueSerde().deserializer()),
        d.createOutputTopic(
            NAMES.deadLetters(),
            new StringDeserializer(),
            TOPICS.deadLetters().valueSerde().deserializer()));
  }

  private static FramesConfig config() {
    return FramesConfig.defaults().withTopicNames(NAMES).withApplicationId("frames-test");
  }

  private static BufferedImage png(Frame f) throws Exception {
    assertEquals(FrameFormat.PNG, f.getFormat());
    byte[] b = TestChunks.bytes(f.getData());
    assertEquals((byte) 0x89, b[0]);
    assertEquals('P', b[1]);
    return ImageIO.read(new ByteArrayInputStream(b));
  }

  private static int stamp(BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    byte[] rgb = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int p = img.getRGB(x, y);
        int i = (y * w + x) * 3;
        rgb[i] = (byte) (p >> 16);
        rgb[i + 1] = (byte) (p >> 8);
        rgb[i + 2] = (byte) p;
      }
    }
    return SyntheticVideo.readStamp(w, h, rgb);
  }

  @Test
  void tenSecondsAtOneFpsGiveTenFramesWithStableIndices() throws Exception {
    try (Harness h = harness(config())) {
      tenSeconds.forEach(h::send);
      var out = h.frames().readKeyValuesToList();
      assertTrue(h.dead().isEmpty());
      assertEquals(10, out.size());
      for (int k = 0; k < 10; k++) {
        assertEquals("cam-1", out.get(k).key);
        Frame f = out.get(k).value;
        assertEquals("cam-1", f.getStreamId());
        assertEquals(k, f.getFrameIndex());
        assertEquals(k * 1_000_000L, f.getTimestampMicros(), 1000, "time of frame " + k);
        assertEquals(k, f.getChunkSequence());
        assertEquals(160, f.getWidth());
        assertEquals(120, f.getHeight());
        BufferedImage img = png(f);
        assertEquals(160, img.getWidth());
        assertEquals(10 * k, stamp(img), "frame " + k + " must be source frame " + (10 * k));
        assertEquals(1234L, f.getStageMillis().get("ingest"));
        assertNotNull(f.getStageMillis().get("frames"));
      }
      SamplerState s = h.store().get("cam-1");
      assertEquals(new SamplerState(10, 9, 9), s);
    }
  }

  @Test
  void twoFpsGivesTwentyFrames() throws Exception {
    try (Harness h = harness(config().withSampleFps(2.0))) {
      tenSeconds.forEach(h::send);
      List<Frame> out = h.frames().readValuesToList();
      assertEquals(20, out.size());
      for (int k = 0; k < 20; k++) {
        assertEquals(k, out.get(k).getFrameIndex());
        assertEquals(k * 500_000L, out.get(k).getTimestampMicros(), 1000);
        assertEquals(k / 2, out.get(k).getChunkSequence());
      }
      assertEquals(5 * 7, stamp(png(out.get(7))));
    }
  }

  @Test
  void corruptChunkIsDeadLetteredAndTheStreamGoesOn() throws Exception {
    try (Harness h = harness(config())) {
      h.send(tenSeconds.get(0));
      h.send(tenSeconds.get(1));
      byte[] junk = SyntheticVideo.randomBytes(42, 20_000);
      VideoChunk bad = TestChunks.with(tenSeconds.get(2), junk, 2, 1_000_000);
      h.send(bad);
      h.send(tenSeconds.get(3));
      List<Frame> frames = h.frames().readValuesToList();
      assertEquals(List.of(0L, 1L, 3L), frames.stream().map(Frame::getFrameIndex).toList());
      var dead = h.dead().readKeyValuesToList();
      assertEquals(1, dead.size());
      assertEquals("cam-1", dead.get(0).key);
      DeadLetter dl = dead.get(0).value;
      assertEquals("frames", dl.getStage());
      assertEquals(NAMES.chunks(), dl.getSourceTopic());
      assertEquals(2, dl.getOffset());
      assertEquals("cam-1", dl.getStreamId());
      assertFalse(dl.getReason().isBlank());
      // the original record bytes travel along: they decode back to the rejected chunk
      assertEquals(bad, CHUNK_SERDE.deserialize("t", TestChunks.bytes(dl.getValue())));
    }
  }

  @Test
  void tooLongChunkIsRejected() {
    try (Harness h = harness(config().withMaxChunkSeconds(5))) {
      VideoChunk c = tenSeconds.get(0);
      h.send(TestChunks.with(c, TestChunks.bytes(c.getData()), 0, 6_000_000));
      assertTrue(h.frames().isEmpty());
      DeadLetter dl = h.dead().readValue();
      assertTrue(dl.getReason().contains("claims 6.000 s, over the 5.000 s limit"), dl.getReason());
      assertTrue(h.dead().isEmpty());
      h.send(tenSeconds.get(1)); // the stream goes on from the next chunk
      assertEquals(1, h.frames().readValue().getFrameIndex());
    }
  }

  @Test
  void bytesThatAreNotAvroAreDeadLettered() {
    try (Harness h = harness(config())) {
      byte[] junk = "definitely not avro".getBytes(StandardCharsets.UTF_8);
      h.in().pipeInput("cam-9".getBytes(StandardCharsets.UTF_8), junk);
      h.in().pipeInput("cam-9".getBytes(StandardCharsets.UTF_8), (byte[]) null);
      DeadLetter dl = h.dead().readValue();
      assertTrue(dl.getReason().contains("not a VideoChunk"), dl.getReason());
      assertEquals("cam-9", dl.getStreamId());
      assertArrayEquals(junk, TestChunks.bytes(dl.getValue()));
      assertEquals("org.apache.kafka.common.errors.SerializationException", dl.getExceptionClass());
      assertTrue(h.dead().readValue().getReason().contains("tombstone"));
      h.send(tenSeconds.get(0));
      assertEquals(0, h.frames().readValue().getFrameIndex());
    }
  }

  @Test
  void redeliveryReproducesFramesAndOrderIsEnforced() {
    try (Harness h = harness(config())) {
      h.send(tenSeconds.get(0));
      h.send(tenSeconds.get(1));
      h.send(
          tenSeconds.get(1)); // at-least-once redelivery of the last chunk: same frame index again
      h.send(tenSeconds.get(0)); // restart of the stream at sequence 0: numbering restarts
      h.send(tenSeconds.get(1));
      h.send(tenSeconds.get(3));
      h.send(tenSeconds.get(2)); // stale: after 3
      assertEquals(
          List.of(0L, 1L, 1L, 0L, 1L, 3L),
          h.frames().readValuesToList().stream().map(Frame::getFrameIndex).toList());
      DeadLetter dl = h.dead().readValue();
      assertTrue(dl.getReason().contains("out-of-order"), dl.getReason());
      // key and value must agree on the stream
      VideoChunk other = VideoChunk.newBuilder(tenSeconds.get(4)).setStreamId("cam-2").build();
      h.in().pipeInput("cam-1".getBytes(StandardCharsets.UTF_8), CHUNK_SERDE.serialize("t", other));
      assertTrue(h.dead().readValue().getReason().contains("does not match"));
    }
  }

  @Test
  void streamsAreSampledIndependentlyAndRgb24Works() throws Exception {
    FramesConfig cfg = config().withFrameFormat(FrameFormat.RGB24).withMaxSize(80, 80);
    try (Harness h = harness(cfg)) {
      h.send(tenSeconds.get(0));
      h.send(VideoChunk.newBuilder(tenSeconds.get(0)).setStreamId("cam-2").build());
      h.send(tenSeconds.get(1));
      var out = h.frames().readKeyValuesToList();
      assertEquals(List.of("cam-1", "cam-2", "cam-1"), out.stream().map(kv -> kv.key).toList());
      assertEquals(List.of(0L, 0L, 1L), out.stream().map(kv -> kv.value.getFrameIndex()).toList());
      Frame f = out.get(2).value;
      assertEquals(80, f.getWidth());
      assertEquals(60, f.getHeight());
      assertEquals(80 * 60 * 3, f.getData().remaining());
      // exactly the decoder's picture of the first frame of chunk 1 (the one at 1 s), unencoded
      byte[] expected = new ChunkDecoder(cfg).decodeAll(tenSeconds.get(1)).get(0).image().rgb();
      assertArrayEquals(expected, TestChunks.bytes(f.getData()));
    }
  }
}
