package io.decostream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.VideoChunk;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PublisherTest {

  @TempDir static Path dir;

  static Path video;

  @BeforeAll
  static void makeVideo() {
    video =
        SyntheticVideo.write(
            dir.resolve("three.mp4"), SyntheticVideo.Spec.defaults(3).withSize(96, 64));
  }

  private static MockProducer<String, VideoChunk> mock(boolean autoComplete) {
    return new MockProducer<>(
        autoComplete, null, new StringSerializer(), AvroSerde.of(VideoChunk.class).serializer());
  }

  private static PublishConfig config(OptionalLong max, boolean loop) {
    return new PublishConfig(
        "localhost:9092",
        "cam-1",
        video.toString(),
        1.0,
        false,
        loop,
        TopicNames.withPrefix("t."),
        max);
  }

  @Test
  void sendsEveryChunkKeyedByStreamWithIngestTime() throws Exception {
    MockProducer<String, VideoChunk> producer = mock(true);
    List<Publisher.Progress> progress = new ArrayList<>();
    long before = System.currentTimeMillis();
    Publisher.Result result;
    try (Publisher p = new Publisher(config(OptionalLong.empty(), false), producer)) {
      result = p.run(progress::add);
    }
    assertTrue(producer.closed());
    List<ProducerRecord<String, VideoChunk>> sent = producer.history();
    assertEquals(3, sent.size());
    assertEquals(3, result.chunks());
    assertEquals(3.0, result.videoSeconds(), 0.01);
    assertFalse(result.stopped());
    for (int i = 0; i < 3; i++) {
      ProducerRecord<String, VideoChunk> r = sent.get(i);
      assertEquals("t.deco.video-chunks", r.topic());
      assertEquals("cam-1", r.key());
      VideoChunk c = r.value();
      assertEquals("cam-1", c.getStreamId());
      assertEquals(i, c.getSequence());
      assertEquals(i * 1_000_000L, c.getStartMicros(), 1000);
      assertEquals(1_000_000L, c.getDurationMicros(), 1000);
      assertEquals("mpegts", c.getContainer());
      assertEquals(96, c.getWidth());
      assertEquals(64, c.getHeight());
      assertEquals(10.0, c.getFrameRate(), 0.01);
      assertEquals(video.toString(), c.getSource());
      long ingest = c.getStageMillis().get("ingest");
      assertTrue(ingest >= before && ingest <= System.currentTimeMillis());
      ByteBuffer data = c.getData();
      byte[] bytes = new byte[data.remaining()];
      data.duplicate().get(bytes);
      assertEquals(10, Chunker.countDecodableFrames(bytes, c.getContainer()));
      // the record survives the wire format
      byte[] wire = AvroSerde.of(VideoChunk.class).serialize("t", c);
      assertEquals(c, AvroSerde.of(VideoChunk.class).deserialize("t", wire));
    }
    assertEquals(3, progress.size());
    assertEquals(3, progress.get(2).chunks());
    assertTrue(progress.get(2).bytes() > 1000);
    assertTrue(progress.get(2).line("cam-1").startsWith("stream cam-1: 3 chunks"));
  }

  @Test
  void maxChunksWithLoopAndPrintEvery() throws Exception {
    MockProducer<String, VideoChunk> producer = mock(true);
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (Publisher p = new Publisher(config(OptionalLong.of(5), true), producer)) {
      p.run(Publisher.printEvery(2, new PrintStream(buf, true, StandardCharsets.UTF_8), "cam-1"));
    }
    assertEquals(5, producer.history().size());
    assertEquals(4_000_000L, producer.history().get(4).value().getStartMicros(), 1000);
    String out = buf.toString(StandardCharsets.UTF_8);
    assertEquals(2, out.lines().count(), out);
    assertTrue(out.contains("4 chunks"), out);
  }

  @Test
  void stopEndsTheRunAndFlushes() throws Exception {
    MockProducer<String, VideoChunk> producer = mock(false);
    Publisher.Result result;
    try (Publisher p = new Publisher(config(OptionalLong.empty(), true), producer)) {
      result =
          p.run(
              pr -> {
                if (pr.chunks() == 4) {
                  p.stop();
                }
              });
      assertTrue(producer.flushed(), "run must flush before returning");
    }
    assertTrue(result.stopped());
    assertEquals(4, producer.history().size());
    assertEquals(4, result.chunks());
  }

  @Test
  void failedSendFailsTheRun() {
    MockProducer<String, VideoChunk> producer = mock(false);
    try (Publisher p = new Publisher(config(OptionalLong.empty(), true), producer)) {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () ->
                  p.run(
                      pr -> {
                        if (pr.chunks() == 2) {
                          producer.errorNext(new KafkaException("broker unreachable"));
                        }
                      }));
      assertTrue(e.getMessage().contains("broker unreachable"), e.getMessage());
    }
  }

  @Test
  void producerSettings() {
    Map<String, Object> p = Publisher.producerConfig(config(OptionalLong.empty(), false));
    assertEquals("all", p.get("acks"));
    assertEquals(true, p.get("enable.idempotence"));
    assertEquals("localhost:9092", p.get("bootstrap.servers"));
    assertEquals(KafkaLimits.MAX_MESSAGE_BYTES, p.get("max.request.size"));
  }

  @Test
  void credentialsAreNotPublished() {
    PublishConfig cfg =
        new PublishConfig(
            "b:9092",
            "cam",
            "rtsp://user:pw@cam.local/live",
            1.0,
            false,
            false,
            TopicNames.defaults(),
            OptionalLong.empty());
    try (Publisher p = new Publisher(cfg, mock(true))) {
      VideoChunk c =
          p.toRecord(new Chunk(0, 0, 1000, "mpegts", "h264", 2, 2, 10, 1, true, new byte[] {1}));
      assertEquals("rtsp://cam.local/live", c.getSource());
    }
  }

  @Test
  void configValidation() {
    assertThrows(IllegalArgumentException.class, () -> PublishConfig.of("", "cam", "a.mp4"));
    assertThrows(IllegalArgumentException.class, () -> PublishConfig.of("b:1", "bad id", "a.mp4"));
    assertThrows(IllegalArgumentException.class, () -> PublishConfig.of("b:1", "cam", ""));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PublishConfig(
                "b:1",
                "cam",
                "a.mp4",
                50,
                false,
                false,
                TopicNames.defaults(),
                OptionalLong.empty()));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PublishConfig(
                "b:1", "cam", "a.mp4", 1, false, false, TopicNames.defaults(), OptionalLong.of(0)));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PublishConfig(
                "b:1",
                "cam",
                "/dev/video0",
                1,
                false,
                true,
                TopicNames.defaults(),
                OptionalLong.empty()));
  }
}
